"""Evidence: finalize + processing of 1 MB photos against a plain put + stat of the same
objects, measured in the same run on the same S3 server.

Runs on the services named by ``HOTLINE_DATABASE_URL`` / ``HOTLINE_REDIS_URL`` /
``HOTLINE_S3_ENDPOINT``, starting the embedded ones that are not named. A throwaway
database, Redis prefix and bucket are used and removed.

``python -m benchmarks.evidence [photos]``
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import numpy as np
from PIL import ExifTags, Image
from tortoise import Tortoise

from benchmarks.environment import bench_environment
from hotline.platform import storage
from hotline.platform.db.config import init_orm
from hotline.platform.db.migrate import run_migrations
from hotline.platform.jobs import close_pools
from hotline.platform.settings import get_settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.evidence import processing, uploads, verification
from hotline.tenants.kernel.access import Actor
from hotline.tenants.kernel.roles import Role
from hotline.tenants.provinces.models import Province, Tenant
from hotline.tenants.tickets.models import Channel, Kind, Ticket

PHOTOS = 30
TARGET_BYTES = 1024 * 1024


def one_mb_photo(seed: int) -> bytes:
    """A camera-like JPEG of about 1 MB with EXIF time and GPS (noise defeats compression)."""
    rng = np.random.default_rng(seed)
    side = 560
    while True:
        pixels = rng.integers(0, 255, (side * 3 // 4, side, 3), dtype=np.uint8)
        exif = Image.Exif()
        exif[ExifTags.IFD.Exif] = {0x9003: "2026:11:20 09:30:00"}
        exif[ExifTags.IFD.GPSInfo] = {1: "N", 2: (36.0, 39.0, 45.0), 3: "E", 4: (117.0, 1.0, 14.5)}
        out = io.BytesIO()
        Image.fromarray(pixels).save(out, "JPEG", quality=90, exif=exif.tobytes())
        if out.tell() >= TARGET_BYTES:
            return out.getvalue()
        side += 40


async def _timed(items: list[int], step: Callable[[int], Awaitable[object]]) -> float:
    start = time.perf_counter()
    for item in items:
        await step(item)
    return time.perf_counter() - start


async def _world() -> tuple[Scope, Actor, int]:
    with use_scope(Scope.platform()):
        province = await Province.create(code="370000", slug="shandong", name="Shandong")
        tenant = await Tenant.create(
            province=province, code="370100", slug="jinan", name="Jinan", number_prefix="JN"
        )
    scope = Scope.city(tenant.id, province.id)
    with use_scope(scope):
        ticket = await Ticket.create(
            number="JN20261123000001",
            query_code_hash="-",
            channel=Channel.APP,
            kind=Kind.REPORT,
            content="benchmark",
            lat=Decimal("36.66"),
            lng=Decimal("117.02"),
            received_at=datetime.now(UTC),
        )
    actor = Actor(
        user_id=1, tenant_id=tenant.id, province_id=province.id, roles=frozenset({Role.AGENT})
    )
    return scope, actor, ticket.id


async def measure(photos: int) -> list[tuple[str, float]]:
    scope, actor, ticket_id = await _world()
    bodies = [one_mb_photo(i) for i in range(photos)]
    with use_scope(scope):
        uploaded: list[int] = []
        async with httpx.AsyncClient() as client:
            for body in bodies:
                up = await uploads.request_upload(
                    actor=actor,
                    ticket_id=ticket_id,
                    file_name="photo.jpg",
                    content_type="image/jpeg",
                    size=len(body),
                    sha256=hashlib.sha256(body).hexdigest(),
                )
                response = await client.post(
                    up.post.url, data=up.post.fields, files={"file": ("photo.jpg", body)}
                )
                response.raise_for_status()
                uploaded.append(up.evidence.id)
        plain_keys = [storage.tenant_key("bench") for _ in bodies]
        index = list(range(photos))

        async def put_stat(i: int) -> None:
            await storage.put(plain_keys[i], bodies[i], content_type="image/jpeg")
            await storage.stat(plain_keys[i])

        async def finalize(i: int) -> None:
            await verification.finalize_evidence(actor=actor, evidence_id=uploaded[i])

        async def verify(i: int) -> None:
            await verification.verify_evidence(evidence_id=uploaded[i])

        async def process(i: int) -> None:
            assert await processing.process_evidence(evidence_id=uploaded[i])

        baseline = await _timed(index, put_stat)
        finalized = await _timed(index, finalize)
        verified = await _timed(index, verify)
        processed = await _timed(index, process)
    mean = sum(len(b) for b in bodies) / len(bodies)
    print(f"evidence: {photos} JPEG photos of {mean / 1e6:.2f} MB (EXIF time + GPS)")
    return [
        ("put + stat (baseline)", baseline),
        ("finalize (stat, ranged GET, magic bytes)", finalized),
        ("verify (streamed sha256)", verified),
        ("process (thumbnail, EXIF, distance)", processed),
        ("finalize + verify + process", finalized + verified + processed),
    ]


def report(rows: list[tuple[str, float]], photos: int) -> None:
    base = rows[0][1]
    print(f"{'step':42} {'total s':>8} {'ms/photo':>9} {'photos/s':>9} {'× baseline':>11}")
    for name, seconds in rows:
        print(
            f"{name:42} {seconds:8.3f} {seconds / photos * 1000:9.1f} "
            f"{photos / seconds:9.1f} {seconds / base:10.2f}×"
        )


async def _run(photos: int) -> None:
    settings = get_settings()
    await run_migrations(settings)
    await init_orm(settings)
    try:
        await storage.ensure_bucket(settings)
        rows = await measure(photos)
        report(rows, photos)
    finally:
        await close_pools()
        await Tortoise.close_connections()


def main(photos: int = PHOTOS) -> int:
    with bench_environment():
        asyncio.run(_run(photos))
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else PHOTOS))
