"""Two cities (alpha, beta) in two provinces with a small department tree, people with
tokens, and a GraphQL client over the real ASGI app."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest_asyncio
import uvicorn

from hotline.platform.crypto import encrypt
from hotline.platform.redis import close_redis
from hotline.platform.settings import Settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.schema.app import create_app
from hotline.tenants.accounts import sessions
from hotline.tenants.accounts.models import Membership, ProvinceRole, User
from hotline.tenants.categories.models import Category
from hotline.tenants.departments.models import Department, DepartmentKind
from hotline.tenants.kernel.roles import PlatformRole, Role
from hotline.tenants.provinces.models import Province, Tenant
from hotline.tenants.tickets import timeline
from hotline.tenants.tickets.models import (
    Assignment,
    AssignmentStatus,
    Channel,
    Kind,
    Status,
    Ticket,
)
from hotline.tenants.tickets.numbering import hash_query_code
from hotline.tenants.tickets.phones import phone_hash
from tests import isolation_registry


@dataclass
class City:
    tenant: Tenant
    slug: str
    center: Department
    district: Department
    street: Department
    bureau: Department
    category: Category  # a root
    subcategory: Category  # below it
    tokens: dict[str, str] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)

    def scope(self, user_id: int | None = None) -> Scope:
        return Scope.city(self.tenant.id, self.tenant.province_id, user_id)


async def _department(parent: Department, kind: DepartmentKind, name: str) -> Department:
    row = await Department.create(
        parent=parent, kind=kind, name=name, path=parent.path, depth=parent.depth + 1
    )
    row.path = f"{parent.path}{row.id}/"
    await row.save(update_fields=["path"])
    return row


async def _category(parent: Category | None, name: str) -> Category:
    row = await Category.create(
        parent=parent,
        name=name,
        path=parent.path if parent else "/",
        depth=parent.depth + 1 if parent else 0,
    )
    row.path = f"{parent.path if parent else '/'}{row.id}/"
    await row.save(update_fields=["path"])
    return row


async def make_city(province: Province, code: str, slug: str) -> City:
    with use_scope(Scope.platform()):
        tenant = await Tenant.create(
            province=province,
            code=code,
            slug=slug,
            name=slug.title(),
            number_prefix=slug[:2].upper(),
        )
    with use_scope(Scope.city(tenant.id, province.id)):
        center = await Department.create(
            kind=DepartmentKind.CENTER, name=f"{slug} center", path="/", depth=0
        )
        center.path = f"/{center.id}/"
        await center.save(update_fields=["path"])
        district = await _department(center, DepartmentKind.DISTRICT, f"{slug} district")
        street = await _department(district, DepartmentKind.STREET, f"{slug} street")
        bureau = await _department(center, DepartmentKind.BUREAU, f"{slug} bureau")
        root = await _category(None, "urban management")
        sub = await _category(root, "illegal construction")
    return City(
        tenant=tenant,
        slug=slug,
        center=center,
        district=district,
        street=street,
        bureau=bureau,
        category=root,
        subcategory=sub,
    )


async def add_person(
    city: City, name: str, role: Role | None, department: Department | None = None
) -> None:
    """A member of the city with ``role``; ``None`` makes a province admin of its province."""
    username = f"{city.slug}-{name}"
    # no password: people here sign in with issued tokens (argon2 would cost seconds)
    with use_scope(Scope.platform()):
        user = await User.create(username=username, display_name=username)
    if role is None:
        with use_scope(Scope.platform()):
            await ProvinceRole.create(
                user=user, province_id=city.tenant.province_id, role=PlatformRole.PROVINCE_ADMIN
            )
    else:
        with use_scope(city.scope()):
            await Membership.create(
                user=user, role=role, department_id=department.id if department else None
            )
    city.users[name] = user.id
    city.tokens[name] = await sessions.issue_token_for(username=username, ttl=timedelta(hours=1))


@dataclass
class World:
    settings: Settings
    alpha: City
    beta: City
    client: httpx.AsyncClient

    async def gql(
        self,
        city: City,
        who: str | None,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        tenant: str | None = None,
    ) -> dict[str, Any]:
        headers = {"X-Hotline-Tenant": tenant or city.slug}
        if who is not None:
            headers["Authorization"] = f"Bearer {city.tokens[who]}"
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        isolation_registry.record(query, body)
        return body

    @staticmethod
    def codes(body: dict[str, Any]) -> list[str]:
        """The error codes of a GraphQL response."""
        return [e.get("extensions", {}).get("code", "?") for e in body.get("errors") or []]

    async def ticket(self, city: City, **options: Any) -> Made:
        return await make_ticket(city, **options)


@dataclass(frozen=True)
class Made:
    ticket: Ticket
    query_code: str
    assignments: list[Assignment]


async def make_ticket(
    city: City,
    *,
    status: Status = Status.RECEIVED,
    departments: Sequence[tuple[Department, AssignmentStatus]] = (),
    phone: str | None = "13812345678",
    name: str | None = "张三",
    content: str = "路边违章建筑挡住人行道",
    address: str = "历下区泉城路1号",
    category: Category | None = None,
    received_at: datetime | None = None,
    reply_deadline: datetime | None = None,
    due_soon_at: datetime | None = None,
    channel: Channel = Channel.PHONE,
    kind: Kind = Kind.COMPLAINT,
    confidential: bool = False,
) -> Made:
    """A ticket written straight into the tables (the read side's tests need no write side)."""
    code = secrets.token_hex(3)
    now = datetime.now(UTC)
    with use_scope(city.scope()):
        count = await Ticket.all().count()
        ticket = await Ticket.create(
            number=f"{city.slug[:2].upper()}{now:%Y%m%d}{count + 1:06d}",
            query_code_hash=hash_query_code(city.tenant.id, code),
            channel=channel,
            kind=kind,
            status=status,
            content=content,
            address=address,
            citizen_name_enc=encrypt(name) if name else None,
            citizen_phone_enc=encrypt(phone) if phone else None,
            citizen_phone_hash=phone_hash(phone) if phone else None,
            confidential=confidential,
            lng=117.0,
            lat=36.65,
            category=category or city.subcategory,
            area=city.district,
            received_at=received_at or now,
            dispatched_at=now if departments else None,
            reply_deadline=reply_deadline,
            due_soon_at=due_soon_at,
            public_reply="已处理完毕" if status is Status.CLOSED else "",
        )
        assignments = []
        for i, (department, state) in enumerate(departments):
            assignments.append(
                await Assignment.create(
                    ticket=ticket,
                    department=department,
                    is_lead=i == 0,
                    status=state,
                    reply_deadline=reply_deadline or now + timedelta(days=7),
                    due_soon_at=due_soon_at,
                )
            )
        await timeline.append(
            ticket,
            action="create",
            at=now,
            actor_id=None,
            actor_role="agent",
            from_status="",
            to_status="received",
        )
        await ticket.save(update_fields=["timeline_seq", "timeline_hash"])
    return Made(ticket=ticket, query_code=code, assignments=assignments)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(db: Settings) -> AsyncIterator[World]:
    with use_scope(Scope.platform()):
        shandong = await Province.create(code="370000", slug="shandong", name="Shandong")
        jiangsu = await Province.create(code="320000", slug="jiangsu", name="Jiangsu")
    alpha = await make_city(shandong, "370100", "alpha")
    beta = await make_city(jiangsu, "320100", "beta")
    for city in (alpha, beta):
        await add_person(city, "admin", Role.TENANT_ADMIN)
        await add_person(city, "province", None)
        await add_person(city, "agent", Role.AGENT)
        await add_person(city, "dispatcher", Role.DISPATCHER)
        await add_person(city, "supervisor", Role.SUPERVISOR)
        await add_person(city, "district", Role.DEPT_HANDLER, city.district)
        await add_person(city, "street", Role.DEPT_HANDLER, city.street)
        await add_person(city, "bureau", Role.DEPT_MANAGER, city.bureau)
    app = create_app(db, manage_orm=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        yield World(settings=db, alpha=alpha, beta=beta, client=client)
    await close_redis()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def server_url(world: World) -> AsyncIterator[str]:
    """The app on a real uvicorn server (WebSockets): its ws:// URL."""
    config = uvicorn.Config(
        create_app(world.settings, manage_orm=False),
        host="127.0.0.1",
        port=0,
        lifespan="off",
        log_level="warning",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 — uvicorn offers no event to wait on
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"ws://127.0.0.1:{port}/graphql"
    server.should_exit = True
    await task
