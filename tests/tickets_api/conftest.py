"""The GraphQL tests see the shared world (tests/world.py) through the API: alpha
(Shandong) and beta (Jiangsu) with their people by the names the tests use ("agent",
"district", "province", …), each with a bearer token, and a GraphQL client over the real
ASGI app. channels, infra and observability take the same ``world`` fixture.

``make_city`` / ``add_person`` remain for the modules that still build bare cities of
their own (statistics' API modules, browser, business); tickets_api does not use them."""

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
from hotline.platform.settings import Settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.schema.app import create_app
from hotline.tenants.accounts import sessions
from hotline.tenants.accounts.models import Membership, ProvinceRole, User
from hotline.tenants.categories.models import Category
from hotline.tenants.departments.models import Department, DepartmentKind
from hotline.tenants.kernel.access import Actor
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
from tests import world as shared


@dataclass
class City:
    """A city as the API tests address it: its tenant, departments, categories and people
    (user ids and tokens by name)."""

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

    def leader(self) -> Actor:
        """The city's leader, who reads every figure of it (no user row needed)."""
        return Actor(
            user_id=1,
            tenant_id=self.tenant.id,
            province_id=self.tenant.province_id,
            roles=frozenset({Role.CITY_LEADER}),
        )


async def make_city(province: Province, code: str, slug: str) -> City:
    """A bare city (center, district, street, bureau, two categories, nobody in it) for
    the modules that build their own cities; people come with ``add_person``."""
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
        district = await shared.department(center, DepartmentKind.DISTRICT, f"{slug} district")
        street = await shared.department(district, DepartmentKind.STREET, f"{slug} street")
        bureau = await shared.department(center, DepartmentKind.BUREAU, f"{slug} bureau")
        root = await shared.category(None, "urban management")
        sub = await shared.category(root, "illegal construction")
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


async def view(city: shared.City, province_admin: Actor) -> City:
    """A city of the shared world with a token for each of its people the tests name."""
    people = {
        "admin": city.admin,
        "province": province_admin,  # of the city's province
        "agent": city.agent,
        "dispatcher": city.dispatcher,
        "supervisor": city.supervisor,
        "district": city.district_handler,
        "street": city.street_handler,
        "bureau": city.bureau_handler,  # a department manager of the bureau
        "dmanager": city.district_manager,  # a department manager of the district
    }
    seen = City(
        tenant=city.tenant,
        slug=city.slug,
        center=city.center,
        district=city.district,
        street=city.street,
        bureau=city.bureau,
        category=city.urban,
        subcategory=city.construction,
    )
    for name, actor in people.items():
        seen.users[name] = int(actor.user_id or 0)
        seen.tokens[name] = await city.token(actor)
    return seen


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(world: shared.World, db: Settings) -> AsyncIterator[World]:
    """A view over the shared world (tests/world.py): alpha and beta with tokens, and
    a client over the app."""
    alpha = await view(world.alpha, world.province_admin)
    beta = await view(world.beta, world.jiangsu_admin)
    app = create_app(db, manage_orm=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        yield World(settings=db, alpha=alpha, beta=beta, client=client)


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
