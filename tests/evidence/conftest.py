"""The evidence tests: the shared world (tests/world.py) plus a ticket per city, written
directly with the models (the ticket service is not needed here). The
module's S3 bucket lives on the session's real S3 server (the embedded stand-in, or
MinIO when HOTLINE_S3_ENDPOINT names one).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import av
import httpx
import numpy as np
import pytest
import pytest_asyncio
from PIL import ExifTags, Image

from hotline.platform import storage
from hotline.platform.settings import Settings
from hotline.platform.tenancy import use_scope
from hotline.tenants.departments.models import Department
from hotline.tenants.evidence.uploads import Upload
from hotline.tenants.kernel.access import Actor
from hotline.tenants.tickets.models import Assignment, Channel, Kind, Status, Ticket
from hotline.tenants.tickets.numbering import hash_query_code
from tests.world import City
from tests.world import World as SharedWorld

QUERY_CODE = "246810"
# The ticket's place (Jinan, Quancheng Square) and a photo taken ~150 m away.
TICKET_LAT, TICKET_LNG = Decimal("36.6612000"), Decimal("117.0201000")
PHOTO_LAT, PHOTO_LNG = 36.6625, 117.0207


@dataclass
class World:
    alpha: City
    beta: City
    district: Department  # alpha: center > district > street
    street: Department
    other_district: Department  # a department of alpha that is no ancestor of `street`
    ticket: Ticket  # alpha, assigned to `street`
    assignment: Assignment
    beta_ticket: Ticket
    agent: Actor
    admin: Actor
    street_handler: Actor
    district_manager: Actor  # an ancestor of the assigned department
    other_handler: Actor  # another department of the same city
    beta_agent: Actor


async def make_ticket(
    city: City,
    number: str,
    *,
    status: Status = Status.DISPATCHED,
    closed_at: datetime | None = None,
) -> Ticket:
    return await Ticket.create(
        number=number,
        query_code_hash=hash_query_code(city.tenant.id, QUERY_CODE),
        channel=Channel.APP,
        kind=Kind.REPORT,
        status=status,
        content="A broken street lamp",
        lat=TICKET_LAT,
        lng=TICKET_LNG,
        received_at=datetime.now(UTC) - timedelta(days=1),
        closed_at=closed_at,
    )


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(world: SharedWorld, db: Settings) -> AsyncIterator[World]:
    """The shared world (tests/world.py) plus one ticket per city, alpha's assigned to
    its street: the evidence tests need a ticket at a known place with a known code."""
    await storage.ensure_bucket(db)
    alpha, beta = world.alpha, world.beta
    with use_scope(alpha.scope()):
        ticket = await make_ticket(alpha, "AL20261123000001")
        assignment = await Assignment.create(
            ticket=ticket,
            department=alpha.street,
            is_lead=True,
            reply_deadline=datetime.now(UTC) + timedelta(days=7),
        )
    with use_scope(beta.scope()):
        beta_ticket = await make_ticket(beta, "BE20261123000001")
    yield World(
        alpha=alpha,
        beta=beta,
        district=alpha.district,
        street=alpha.street,
        other_district=alpha.bureau,
        ticket=ticket,
        assignment=assignment,
        beta_ticket=beta_ticket,
        agent=alpha.agent,
        admin=alpha.admin,
        street_handler=alpha.street_handler,
        district_manager=alpha.district_manager,
        other_handler=alpha.bureau_handler,
        beta_agent=beta.agent,
    )


class Kit:
    """Helpers for the tests (test modules cannot import conftest under importlib mode)."""

    QUERY_CODE = QUERY_CODE
    PHOTO_LAT, PHOTO_LNG = PHOTO_LAT, PHOTO_LNG
    ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(248)  # a Linux executable's header

    make_ticket = staticmethod(make_ticket)

    @staticmethod
    def sha256(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    @staticmethod
    async def upload(up: Upload, data: bytes, file_name: str = "photo.jpg") -> None:
        assert await Kit.post_form(up.post.url, up.post.fields, data, file_name) < 300

    @staticmethod
    async def post_form(url: str, fields: dict[str, str], data: bytes, file_name: str) -> int:
        """What a browser does with the presigned POST: the policy fields, then the file."""
        async with httpx.AsyncClient() as client:
            response = await client.post(
                url, data=fields, files={"file": (file_name, data, fields["Content-Type"])}
            )
        return response.status_code

    @staticmethod
    async def fetch(url: str) -> bytes:
        async with httpx.AsyncClient() as client:
            response = await client.get(url)
        assert response.status_code == 200, response.text
        return response.content

    @staticmethod
    def photo(
        *,
        lat: float | None = PHOTO_LAT,
        lng: float | None = PHOTO_LNG,
        size: tuple[int, int] = (640, 480),
        taken: str = "2026:11:20 09:30:00",
        offset: str | None = None,
        noise: bool = False,
    ) -> bytes:
        """A JPEG with EXIF capture time and (optionally) a GPS IFD, made with Pillow."""
        if noise:
            rng = np.random.default_rng(7)
            image = Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
        else:
            image = Image.new("RGB", size, (180, 40, 40))
        exif = Image.Exif()
        exif[0x0132] = taken
        sub: dict[int, str] = {0x9003: taken}
        if offset:
            sub[0x9011] = offset
        exif[ExifTags.IFD.Exif] = sub
        if lat is not None and lng is not None:
            exif[ExifTags.IFD.GPSInfo] = {
                1: "N" if lat >= 0 else "S",
                2: Kit.dms(abs(lat)),
                3: "E" if lng >= 0 else "W",
                4: Kit.dms(abs(lng)),
            }
        out = io.BytesIO()
        image.save(out, "JPEG", exif=exif.tobytes(), quality=92)
        return out.getvalue()

    @staticmethod
    def dms(value: float) -> tuple[float, float, float]:
        degrees = int(value)
        minutes = int((value - degrees) * 60)
        seconds = round((value - degrees - minutes / 60) * 3600, 4)
        return float(degrees), float(minutes), seconds

    @staticmethod
    def mp4(path: Path, *, seconds: int = 2, fps: int = 12, location: str | None = None) -> bytes:
        """A short MPEG-4 video of generated RGB frames, encoded by PyAV's bundled FFmpeg."""
        with av.open(str(path), "w", format="mp4") as out:
            stream = out.add_stream("mpeg4", rate=fps)
            stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
            if location:
                out.metadata["location"] = location
            for i in range(seconds * fps):
                pixels = np.full((120, 160, 3), (i * 10) % 255, dtype=np.uint8)
                for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)
        return path.read_bytes()


@pytest.fixture(scope="session")
def kit() -> type[Kit]:
    return Kit
