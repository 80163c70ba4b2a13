"""Two cities in two provinces, a department tree, tickets and actors for the evidence tests.

Rows are created directly with the models (the ticket service is not needed here). The
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
from hotline.platform.jobs import close_pools
from hotline.platform.settings import Settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.departments.models import Department, DepartmentKind
from hotline.tenants.evidence.uploads import Upload
from hotline.tenants.kernel.access import Actor
from hotline.tenants.kernel.roles import Role
from hotline.tenants.provinces.models import Province, Tenant
from hotline.tenants.tickets.models import Assignment, Channel, Kind, Status, Ticket
from hotline.tenants.tickets.numbering import hash_query_code

QUERY_CODE = "246810"
# The ticket's place (Jinan, Quancheng Square) and a photo taken ~150 m away.
TICKET_LAT, TICKET_LNG = Decimal("36.6612000"), Decimal("117.0201000")
PHOTO_LAT, PHOTO_LNG = 36.6625, 117.0207


@dataclass
class City:
    tenant: Tenant
    center: Department

    def scope(self) -> Scope:
        return Scope.city(self.tenant.id, self.tenant.province_id)

    def actor(self, user_id: int, role: Role, *departments: int) -> Actor:
        return Actor(
            user_id=user_id,
            tenant_id=self.tenant.id,
            province_id=self.tenant.province_id,
            roles=frozenset({role}),
            department_ids=frozenset(departments),
        )


@dataclass
class World:
    alpha: City
    beta: City
    district: Department  # alpha: center > district > street
    street: Department
    other_district: Department  # a sibling of `district`
    ticket: Ticket  # alpha, assigned to `street`
    assignment: Assignment
    beta_ticket: Ticket
    agent: Actor
    admin: Actor
    street_handler: Actor
    district_manager: Actor  # an ancestor of the assigned department
    other_handler: Actor  # another department of the same city
    beta_agent: Actor


async def _city(province: Province, code: str, slug: str, prefix: str) -> City:
    with use_scope(Scope.platform()):
        tenant = await Tenant.create(
            province=province, code=code, slug=slug, name=slug.title(), number_prefix=prefix
        )
    with use_scope(Scope.city(tenant.id, province.id)):
        center = await Department.create(
            kind=DepartmentKind.CENTER, name=f"{slug} center", path="/", depth=0
        )
        center.path = f"/{center.id}/"
        await center.save(update_fields=["path"])
    return City(tenant=tenant, center=center)


async def _child(parent: Department, kind: DepartmentKind, name: str) -> Department:
    row = await Department.create(
        parent=parent, kind=kind, name=name, path="/", depth=parent.depth + 1
    )
    row.path = f"{parent.path}{row.id}/"
    await row.save(update_fields=["path"])
    return row


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
async def world(db: Settings) -> AsyncIterator[World]:
    await storage.ensure_bucket(db)
    with use_scope(Scope.platform()):
        shandong = await Province.create(code="370000", slug="shandong", name="Shandong")
        jiangsu = await Province.create(code="320000", slug="jiangsu", name="Jiangsu")
    alpha = await _city(shandong, "370100", "alpha", "AL")
    beta = await _city(jiangsu, "320100", "beta", "BE")
    with use_scope(alpha.scope()):
        district = await _child(alpha.center, DepartmentKind.DISTRICT, "Lixia")
        street = await _child(district, DepartmentKind.STREET, "Quancheng street")
        other = await _child(alpha.center, DepartmentKind.DISTRICT, "Huaiyin")
        ticket = await make_ticket(alpha, "AL20261123000001")
        assignment = await Assignment.create(
            ticket=ticket,
            department=street,
            is_lead=True,
            reply_deadline=datetime.now(UTC) + timedelta(days=7),
        )
    with use_scope(beta.scope()):
        beta_ticket = await make_ticket(beta, "BE20261123000001")
    yield World(
        alpha=alpha,
        beta=beta,
        district=district,
        street=street,
        other_district=other,
        ticket=ticket,
        assignment=assignment,
        beta_ticket=beta_ticket,
        agent=alpha.actor(101, Role.AGENT),
        admin=alpha.actor(102, Role.TENANT_ADMIN),
        street_handler=alpha.actor(103, Role.DEPT_HANDLER, street.id),
        district_manager=alpha.actor(104, Role.DEPT_MANAGER, district.id),
        other_handler=alpha.actor(105, Role.DEPT_HANDLER, other.id),
        beta_agent=beta.actor(201, Role.AGENT),
    )
    await close_pools()


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
