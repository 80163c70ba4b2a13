"""Tickets: creation, the department inbox and the ticket list (50 rows, nested) through
our GraphQL schema, each against a baseline measured in the same run on the same
database: the same work as raw asyncpg SQL behind a plain Strawberry schema.

Over 400 lines on purpose: each hand-written baseline sits beside the operation it
mirrors and the reasons printed for our statements, so a change to one side shows the
other; split, the pairs would drift apart.

Both sides run ``schema.execute`` in-process (no HTTP), so the ratio compares our
resolvers, dataloaders, ORM and row-level security against hand-written SQL. The
baseline connects as the database owner with explicit ``tenant_id`` filters (no RLS
hook): the most favourable raw setup.

Runs on the services named by ``HOTLINE_DATABASE_URL`` / ``HOTLINE_REDIS_URL``,
starting embedded ones for what is not named; a throwaway database and Redis prefix.

``python -m benchmarks.tickets [creations] [inbox_queries] [backlog]`` (the list is read
again once the city holds ``backlog`` more tickets, generated in SQL: default 100,000)
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import logging
import re
import secrets
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import strawberry
from starlette.requests import Request
from tortoise import Tortoise

from benchmarks import statistics as stats_bench
from benchmarks.environment import bench_environment
from hotline.platform.crypto import encrypt, keyed_hash
from hotline.platform.db.config import credentials, init_orm
from hotline.platform.db.migrate import ensure_app_role, run_migrations
from hotline.platform.redis import close_redis
from hotline.platform.settings import Settings, get_settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.schema.context import Context
from hotline.schema.ids import encode_id
from hotline.schema.schema import build_schema
from hotline.tenants.categories.models import Category
from hotline.tenants.departments.models import Department, DepartmentKind
from hotline.tenants.kernel.access import Actor
from hotline.tenants.kernel.roles import Role
from hotline.tenants.provinces.current import remember, request_cities
from hotline.tenants.provinces.models import Province, Tenant
from hotline.tenants.tickets import dispatch, intake
from hotline.tenants.tickets.models import Channel, Kind

CREATIONS = 200
INBOX_QUERIES = 200
INBOX_ROWS = 50
BACKLOG = 100_000  # tickets generated for the city before its lists are read again

CREATE = """mutation($c: ID!, $a: ID!, $p: String!, $at: String!) { createTicket(input: {
  channel: PHONE, kind: COMPLAINT, content: "小区门口有违建，影响通行", citizenName: "李四",
  citizenPhone: $p, address: $at, categoryId: $c, areaId: $a }) {
  ticket { id number status } errors { code message } } }"""

INBOX = """query($d: ID!) { inbox(departmentId: $d, box: TO_SIGN, first: 50) { edges { cursor node {
  id status replyDeadline signDeadline overdue dueSoon department { name }
  ticket { number status replyDeadline category { name parent { name } } area { name }
    assignments { status isLead replyDeadline department { name } } } } } } }"""

LIST = """query($n: Int!) { tickets(first: $n) { edges { cursor node {
  id number status kind replyDeadline overdue category { name parent { name } } area { name }
  assignments { status isLead replyDeadline department { name } } } }
  pageInfo { hasNextPage endCursor } } }"""


@dataclass(frozen=True)
class City:
    scope: Scope
    actor: Actor
    tenant_id: int
    province_id: int
    district: Department
    bureau: Department
    category: Category
    tenant: Tenant


async def _world() -> City:
    with use_scope(Scope.platform()):
        province = await Province.create(code="370000", slug="shandong", name="Shandong")
        tenant = await Tenant.create(
            province=province, code="370100", slug="jinan", name="Jinan", number_prefix="JN"
        )
    scope = Scope.city(tenant.id, province.id)
    with use_scope(scope):
        center = await Department.create(kind=DepartmentKind.CENTER, name="中心", path="/")
        center.path = f"/{center.id}/"
        await center.save(update_fields=["path"])
        made = []
        for kind, name in ((DepartmentKind.DISTRICT, "历下区"), (DepartmentKind.BUREAU, "城管局")):
            row = await Department.create(
                parent=center, kind=kind, name=name, path=center.path, depth=1
            )
            row.path = f"{center.path}{row.id}/"
            await row.save(update_fields=["path"])
            made.append(row)
        root = await Category.create(name="城市管理", path="/")
        root.path = f"/{root.id}/"
        await root.save(update_fields=["path"])
        category = await Category.create(parent=root, name="违章建筑", path=root.path, depth=1)
        category.path = f"{root.path}{category.id}/"
        await category.save(update_fields=["path"])
    actor = Actor(
        user_id=1,
        tenant_id=tenant.id,
        province_id=province.id,
        roles=frozenset({Role.AGENT, Role.DISPATCHER}),
    )
    return City(scope, actor, tenant.id, province.id, made[0], made[1], category, tenant)


def _context(actor: Actor) -> Context:
    request = Request({"type": "http", "headers": [], "client": ("127.0.0.1", 0)})
    return Context(request=request, response=None, actor=actor)


# --- the baseline: raw asyncpg + a plain Strawberry schema ---------------------------------


@strawberry.type
class PlainTicketRef:
    id: strawberry.ID
    number: str
    status: str


@strawberry.type
class PlainDepartment:
    name: str


@strawberry.type
class PlainCategory:
    name: str
    parent: PlainCategory | None


@strawberry.type
class PlainLite:
    status: str
    is_lead: bool
    reply_deadline: datetime
    department: PlainDepartment


@strawberry.type
class PlainTicket:
    number: str
    status: str
    reply_deadline: datetime | None
    category: PlainCategory | None
    area: PlainDepartment | None
    assignments: list[PlainLite]


@strawberry.type
class PlainListed:
    id: strawberry.ID
    number: str
    status: str
    kind: str
    reply_deadline: datetime | None
    overdue: bool
    category: PlainCategory | None
    area: PlainDepartment | None
    assignments: list[PlainLite]


@strawberry.type
class PlainListedEdge:
    cursor: str
    node: PlainListed


@strawberry.type
class PlainPageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class PlainTicketConnection:
    edges: list[PlainListedEdge]
    page_info: PlainPageInfo


@strawberry.type
class PlainAssignment:
    id: strawberry.ID
    status: str
    reply_deadline: datetime
    sign_deadline: datetime | None
    overdue: bool
    due_soon: bool
    department: PlainDepartment
    ticket: PlainTicket


@strawberry.type
class PlainEdge:
    cursor: str
    node: PlainAssignment


@strawberry.type
class PlainConnection:
    edges: list[PlainEdge]


@strawberry.type
class PlainCreated:
    ticket: PlainTicketRef
    errors: list[str]


async def _assignments_of(
    conn: asyncpg.Connection, tenant_id: int, ticket_ids: list[int], more: set[int | None]
) -> tuple[dict[int, list[PlainLite]], dict[int, PlainDepartment]]:
    """The tickets' assignments (each with its department), and every department named
    by them or by ``more``: two statements, as the page's levels."""
    siblings = await conn.fetch(
        "SELECT ticket_id, status, is_lead, reply_deadline, department_id FROM "
        "assignments WHERE tenant_id = $1 AND ticket_id = ANY($2) ORDER BY id",
        tenant_id,
        ticket_ids,
    )
    wanted = {r["department_id"] for r in siblings} | {d for d in more if d}
    departments = {
        r["id"]: PlainDepartment(name=r["name"])
        for r in await conn.fetch(
            "SELECT id, name FROM departments WHERE tenant_id = $1 AND id = ANY($2)",
            tenant_id,
            list(wanted),
        )
    }
    by_ticket: dict[int, list[PlainLite]] = {}
    for a in siblings:
        by_ticket.setdefault(a["ticket_id"], []).append(
            PlainLite(
                status=a["status"],
                is_lead=a["is_lead"],
                reply_deadline=a["reply_deadline"],
                department=departments[a["department_id"]],
            )
        )
    return by_ticket, departments


def _pool(info: strawberry.Info) -> asyncpg.Pool:
    pool: asyncpg.Pool = info.context["pool"]
    return pool


@strawberry.type
class PlainQuery:
    @strawberry.field
    async def inbox(
        self, info: strawberry.Info, department_id: strawberry.ID, box: str, first: int
    ) -> PlainConnection:
        tenant_id: int = info.context["tenant_id"]
        department = int(department_id)
        now = datetime.now(UTC)
        async with _pool(info).acquire() as conn:
            page = await conn.fetch(
                "SELECT id, ticket_id, department_id, status, reply_deadline, sign_deadline, "
                "due_soon_at FROM assignments WHERE tenant_id = $1 AND department_id = $2 "
                "AND status = $3 ORDER BY reply_deadline, id LIMIT $4",
                tenant_id,
                department,
                box.lower(),
                first + 1,
            )
            ticket_ids = [r["ticket_id"] for r in page]
            tickets = await conn.fetch(
                "SELECT t.id, t.number, t.status, t.reply_deadline, t.area_id, "
                "c.name AS category, p.name AS parent FROM tickets t "
                "LEFT JOIN categories c ON c.tenant_id = t.tenant_id AND c.id = t.category_id "
                "LEFT JOIN categories p ON p.tenant_id = c.tenant_id AND p.id = c.parent_id "
                "WHERE t.tenant_id = $1 AND t.id = ANY($2)",
                tenant_id,
                ticket_ids,
            )
            by_ticket, departments = await _assignments_of(
                conn, tenant_id, ticket_ids, {department} | {t["area_id"] for t in tickets}
            )
        plain = {
            t["id"]: PlainTicket(
                number=t["number"],
                status=t["status"],
                reply_deadline=t["reply_deadline"],
                category=PlainCategory(
                    name=t["category"],
                    parent=PlainCategory(name=t["parent"], parent=None) if t["parent"] else None,
                )
                if t["category"]
                else None,
                area=departments.get(t["area_id"]),
                assignments=by_ticket.get(t["id"], []),
            )
            for t in tickets
        }
        edges = [
            PlainEdge(
                cursor=f"{r['reply_deadline'].isoformat()}|{r['id']}",
                node=PlainAssignment(
                    id=strawberry.ID(str(r["id"])),
                    status=r["status"],
                    reply_deadline=r["reply_deadline"],
                    sign_deadline=r["sign_deadline"],
                    overdue=r["reply_deadline"] < now,
                    due_soon=r["due_soon_at"] is not None and r["due_soon_at"] <= now,
                    department=departments[department],
                    ticket=plain[r["ticket_id"]],
                ),
            )
            for r in page[:first]
        ]
        return PlainConnection(edges=edges)

    @strawberry.field
    async def tickets(self, info: strawberry.Info, first: int) -> PlainTicketConnection:
        tenant_id: int = info.context["tenant_id"]
        now = datetime.now(UTC)
        async with _pool(info).acquire() as conn:
            page = await conn.fetch(
                "SELECT t.id, t.number, t.status, t.kind, t.reply_deadline, t.received_at, "
                "t.area_id, c.name AS category, p.name AS parent FROM tickets t "
                "LEFT JOIN categories c ON c.tenant_id = t.tenant_id AND c.id = t.category_id "
                "LEFT JOIN categories p ON p.tenant_id = c.tenant_id AND p.id = c.parent_id "
                "WHERE t.tenant_id = $1 ORDER BY t.received_at DESC, t.id DESC LIMIT $2",
                tenant_id,
                first + 1,
            )
            ticket_ids = [r["id"] for r in page[:first]]
            by_ticket, departments = await _assignments_of(
                conn, tenant_id, ticket_ids, {t["area_id"] for t in page}
            )
        edges = [
            PlainListedEdge(
                cursor=f"{t['received_at'].isoformat()}|{t['id']}",
                node=PlainListed(
                    id=strawberry.ID(str(t["id"])),
                    number=t["number"],
                    status=t["status"],
                    kind=t["kind"],
                    reply_deadline=t["reply_deadline"],
                    overdue=t["reply_deadline"] is not None and t["reply_deadline"] < now,
                    category=PlainCategory(
                        name=t["category"],
                        parent=PlainCategory(name=t["parent"], parent=None)
                        if t["parent"]
                        else None,
                    )
                    if t["category"]
                    else None,
                    area=departments.get(t["area_id"]),
                    assignments=by_ticket.get(t["id"], []),
                ),
            )
            for t in page[:first]
        ]
        info_ = PlainPageInfo(
            has_next_page=len(page) > first, end_cursor=edges[-1].cursor if edges else None
        )
        return PlainTicketConnection(edges=edges, page_info=info_)


@strawberry.type
class PlainMutation:
    @strawberry.mutation
    async def create_ticket(
        self, info: strawberry.Info, content: str, name: str, phone: str, category_id: int
    ) -> PlainCreated:
        tenant_id: int = info.context["tenant_id"]
        province_id: int = info.context["province_id"]
        now = datetime.now(UTC)
        day = now.date()
        code = f"{secrets.randbelow(1_000_000):06d}"
        async with _pool(info).acquire() as conn, conn.transaction():
            serial = await conn.fetchval(
                "INSERT INTO ticket_counters (tenant_id, province_id, day, last_number, "
                "created_at) VALUES ($1, $2, $3, 1, now()) ON CONFLICT (tenant_id, day) DO "
                "UPDATE SET last_number = ticket_counters.last_number + 1 RETURNING last_number",
                tenant_id,
                province_id,
                day,
            )
            number = f"JN{day:%Y%m%d}{serial:06d}"
            ticket_id = await conn.fetchval(
                "INSERT INTO tickets (tenant_id, province_id, created_at, number, "
                "query_code_hash, channel, kind, priority, status, title, content, "
                "citizen_name_enc, citizen_phone_enc, citizen_phone_hash, anonymous, "
                "confidential, address, category_id, received_at, direct_answer, public_reply, "
                "revisit_attempts, reopen_count, urge_count, reject_reason, timeline_seq, "
                "timeline_hash, version, updated_at) VALUES ($1, $2, $3, $4, $5, 'phone', "
                "'complaint', 'normal', 'received', '', $6, $7, $8, $9, false, false, '', $10, "
                "$3, false, '', 0, 0, 0, '', 1, $11, 0, $3) RETURNING id",
                tenant_id,
                province_id,
                now,
                number,
                keyed_hash(f"{tenant_id}:{code}", "ticket-query-code"),
                content,
                encrypt(name),
                encrypt(phone),
                keyed_hash(phone, "citizen-phone"),
                category_id,
                "",
            )
            event = json.dumps({"action": "create", "ticket": ticket_id, "at": now.isoformat()})
            digest = hashlib.sha256(event.encode()).hexdigest()
            await conn.execute(
                "INSERT INTO timeline_events (tenant_id, province_id, created_at, ticket_id, "
                "seq, action, actor_role, from_status, to_status, reason, data, prev_hash, "
                "hash) VALUES ($1, $2, $3, $4, 1, 'create', 'agent', '', 'received', '', "
                "'{}', '', $5)",
                tenant_id,
                province_id,
                now,
                ticket_id,
                digest,
            )
            await conn.execute(
                "UPDATE tickets SET timeline_hash = $1 WHERE tenant_id = $2 AND id = $3",
                digest,
                tenant_id,
                ticket_id,
            )
            # the same outbox rows as ours (routing, the citizen's SMS), waking the relay
            sms = json.dumps({"ticket_id": ticket_id, "to_enc": encrypt(phone), "text": number})
            await conn.execute(
                "WITH added AS (INSERT INTO outbox (tenant_id, province_id, kind, payload, "
                "send_key, status, attempts, max_attempts, next_attempt_at, last_error, "
                "created_at, updated_at) VALUES ($1, $2, 'route', $3::jsonb, $4, 'pending', 0, "
                "8, $6, '', now(), now()), ($1, $2, 'sms', $5::jsonb, $4 || ':sms', 'pending', "
                "0, 8, $6, '', now(), now()) RETURNING id) SELECT pg_notify('hotline_outbox', '') "
                "FROM added",
                tenant_id,
                province_id,
                json.dumps({"ticket_id": ticket_id}),
                f"plain-route-{ticket_id}",
                sms,
                now,
            )
            # and the same statistics marks (the day is dirty, the ticket counts on it)
            await conn.execute(
                "WITH d AS (INSERT INTO stats_dirty_days (tenant_id, province_id, day, "
                "marked_at, created_at) VALUES ($1, $2, $3, $4, $4) ON CONFLICT (tenant_id, day)"
                " DO UPDATE SET marked_at = EXCLUDED.marked_at) INSERT INTO stats_ticket_days "
                "(tenant_id, province_id, ticket_id, days, created_at) VALUES ($1, $2, $5, "
                "jsonb_build_array(to_char($3::date, 'YYYY-MM-DD')), $4)",
                tenant_id,
                province_id,
                day,
                now,
                ticket_id,
            )
        ref = PlainTicketRef(id=strawberry.ID(str(ticket_id)), number=number, status="received")
        return PlainCreated(ticket=ref, errors=[])


PLAIN_CREATE = """mutation($c: Int!, $p: String!) { createTicket(
  content: "小区门口有违建，影响通行", name: "李四", phone: $p, categoryId: $c) {
  ticket { id number status } errors } }"""

PLAIN_LIST = """query($n: Int!) { tickets(first: $n) { edges { cursor node {
  id number status kind replyDeadline overdue category { name parent { name } } area { name }
  assignments { status isLead replyDeadline department { name } } } }
  pageInfo { hasNextPage endCursor } } }"""

PLAIN_INBOX = """query($d: ID!) { inbox(departmentId: $d, box: "PENDING_SIGN", first: 50) {
  edges { cursor node {
  id status replyDeadline signDeadline overdue dueSoon department { name }
  ticket { number status replyDeadline category { name parent { name } } area { name }
    assignments { status isLead replyDeadline department { name } } } } } } }"""


# --- measuring ---------------------------------------------------------------------------------


ROUNDS = 5


async def _rates(
    times: int, ours: Callable[[], Awaitable[None]], baseline: Callable[[], Awaitable[None]]
) -> tuple[float, float]:
    """Operations per second of each, measured in alternating rounds (the machine's
    load drifts; interleaving exposes both sides to it) and taking each side's best."""
    await ours()  # warm caches (parser, statements, pools)
    await baseline()
    best = [0.0, 0.0]
    per_round = max(times // ROUNDS, 1)
    for _ in range(ROUNDS):
        for side, step in enumerate((ours, baseline)):
            start = time.perf_counter()
            for _ in range(per_round):
                await step()
            best[side] = max(best[side], per_round / (time.perf_counter() - start))
    return best[0], best[1]


def _ok(result: Any) -> None:
    if result.errors:
        raise RuntimeError(result.errors)


async def measure(
    creations: int, inbox_queries: int, backlog: int = 0
) -> list[tuple[str, float, float, int, int]]:
    settings = get_settings()
    city = await _world()
    ours = build_schema(settings)
    plain = strawberry.Schema(query=PlainQuery, mutation=PlainMutation)
    pool = await asyncpg.create_pool(**credentials(settings.database_url), min_size=2, max_size=4)
    plain_context = {"pool": pool, "tenant_id": city.tenant_id, "province_id": city.province_id}
    variables = {
        "c": str(encode_id("Category", city.category.id)),
        "a": str(encode_id("Department", city.district.id)),
    }
    try:
        with use_scope(city.scope):
            # Two callers: a new one each time (another phone, another address: what most
            # calls are), where ours writes what the baseline writes; and the same caller
            # again and again, where ours also reads the caller's open tickets and writes
            # five duplicate proposals a creation — work the baseline does not do.
            ours_callers, plain_callers = itertools.count(), itertools.count()

            def caller(numbers: Iterator[int] | None) -> tuple[str, str]:
                if numbers is None:  # the repeat caller: not one of the new callers' numbers
                    return "13800005678", "泉城路 1 号"
                n = next(numbers)
                return f"139{n:08d}", f"泉城路 {n} 号"

            def create_ours(numbers: Iterator[int] | None) -> Callable[[], Awaitable[None]]:
                async def create() -> None:
                    phone, address = caller(numbers)
                    # as the API runs it: identity read the city row for the request (its
                    # statements, like identity's others, are not part of the measure)
                    with request_cities():
                        remember(city.tenant)
                        _ok(
                            await ours.execute(
                                CREATE,
                                variable_values={**variables, "p": phone, "at": address},
                                context_value=_context(city.actor),
                            )
                        )

                return create

            def create_plain(numbers: Iterator[int] | None) -> Callable[[], Awaitable[None]]:
                async def create() -> None:
                    phone, _ = caller(numbers)
                    _ok(
                        await plain.execute(
                            PLAIN_CREATE,
                            variable_values={"c": city.category.id, "p": phone},
                            context_value=plain_context,
                        )
                    )

                return create

            created_ours, created_plain = await _rates(
                creations, create_ours(ours_callers), create_plain(plain_callers)
            )
            repeated_ours, repeated_plain = await _rates(
                creations, create_ours(None), create_plain(None)
            )

            # the inbox: INBOX_ROWS tickets dispatched to the district, the bureau co-handling
            for _ in range(INBOX_ROWS):
                made = await intake.create_ticket(
                    actor=city.actor,
                    channel=Channel.PHONE,
                    kind=Kind.COMPLAINT,
                    content="路灯不亮",
                    category_id=city.category.id,
                    area_id=city.district.id,
                )
                await dispatch.dispatch_ticket(
                    actor=city.actor,
                    ticket_id=made.ticket.id,
                    lead_department_id=city.district.id,
                    co_department_ids=[city.bureau.id],
                )
            department = {"d": str(encode_id("Department", city.district.id))}

            async def inbox_ours() -> None:
                result = await ours.execute(
                    INBOX, variable_values=department, context_value=_context(city.actor)
                )
                _ok(result)
                assert result.data is not None
                assert len(result.data["inbox"]["edges"]) == INBOX_ROWS

            async def inbox_plain() -> None:
                result = await plain.execute(
                    PLAIN_INBOX,
                    variable_values={"d": str(city.district.id)},
                    context_value=plain_context,
                )
                _ok(result)
                assert result.data is not None
                assert len(result.data["inbox"]["edges"]) == INBOX_ROWS

            inbox_ours_rate, inbox_plain_rate = await _rates(inbox_queries, inbox_ours, inbox_plain)

            # the ticket list: the newest 50 (the inbox's tickets), nested the same way
            async def list_ours() -> None:
                result = await ours.execute(
                    LIST, variable_values={"n": INBOX_ROWS}, context_value=_context(city.actor)
                )
                _ok(result)
                assert result.data is not None
                assert len(result.data["tickets"]["edges"]) == INBOX_ROWS

            async def list_plain() -> None:
                result = await plain.execute(
                    PLAIN_LIST, variable_values={"n": INBOX_ROWS}, context_value=plain_context
                )
                _ok(result)
                assert result.data is not None
                assert len(result.data["tickets"]["edges"]) == INBOX_ROWS

            # The city's tickets were all written seconds ago, before autovacuum's first
            # ANALYZE of them: without statistics the planner takes any city for 0.5 % of
            # the table and sorts all its tickets instead of reading the newest 50 off
            # the received-time index (61 % of the baseline, against 83-85 % analyzed).
            # A serving city's table has statistics; so does this one before its lists.
            async with pool.acquire() as owner:
                await owner.execute("ANALYZE tickets")
            list_ours_rate, list_plain_rate = await _rates(inbox_queries, list_ours, list_plain)
            # The same page once the city holds a backlog: a city's lists read a table of
            # months of tickets (docs/performance.md).
            async with pool.acquire() as owner:
                await owner.execute(
                    stats_bench._TICKETS,
                    city.tenant_id,
                    city.province_id,
                    [city.category.id] * 10,  # the generator picks among 10 and 20
                    [city.district.id] * 20,
                    datetime(2026, 3, 1, tzinfo=UTC),
                    backlog,
                    "BK",
                )
                await owner.execute("ANALYZE tickets")
                tickets = await owner.fetchval(
                    "SELECT count(*) FROM tickets WHERE tenant_id = $1", city.tenant_id
                )
            backlog_ours, backlog_plain = await _rates(inbox_queries, list_ours, list_plain)
            create_statements = await _statements(create_ours(ours_callers), "create")
            repeat_statements = await _statements(create_ours(None), "repeat")
            inbox_statements = await _statements(inbox_ours, "inbox")
            list_statements = await _statements(list_ours, "list")
    finally:
        await pool.close()
    return [
        ("ticket creation, a new caller", created_ours, created_plain, create_statements, 6),
        (
            "ticket creation, a repeat caller (proposals)",
            repeated_ours,
            repeated_plain,
            repeat_statements,
            6,
        ),
        (
            f"department inbox ({INBOX_ROWS} rows, nested)",
            inbox_ours_rate,
            inbox_plain_rate,
            inbox_statements,
            4,
        ),
        (
            f"ticket list ({INBOX_ROWS} rows, nested)",
            list_ours_rate,
            list_plain_rate,
            list_statements,
            3,
        ),
        (
            f"ticket list, the city at {tickets:,} tickets",
            backlog_ours,
            backlog_plain,
            list_statements,
            3,
        ),
    ]


class _Counter(logging.Handler):
    """Counts the SQL statements Tortoise sends (its db_client logger, at DEBUG)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0
        self.sent: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        sql = " ".join(str(record.getMessage()).split())
        # a long select list (every column of a model) shown as "…": the table is the news
        sql = re.sub(r"^SELECT ([^()]{40,}?) FROM ", "SELECT … FROM ", sql)
        self.sent.append(sql[:100])


SENT: dict[str, list[str]] = {}


async def _statements(step: Callable[[], Awaitable[None]], name: str = "") -> int:
    counter = _Counter()
    db_log = logging.getLogger("tortoise.db_client")
    level = db_log.level
    db_log.addHandler(counter)
    db_log.setLevel(logging.DEBUG)
    try:
        await step()
    finally:
        db_log.removeHandler(counter)
        db_log.setLevel(level)
    SENT[name] = counter.sent
    return counter.count


def report(rows: list[tuple[str, float, float, int, int]]) -> None:
    print("tickets: our GraphQL schema vs raw asyncpg + plain Strawberry, same run")
    print(
        f"{'operation':46} {'ours /s':>9} {'baseline /s':>12} {'ratio':>7} "
        f"{'SQL ours':>9} {'baseline':>9}"
    )
    for name, ours, baseline, statements, base_statements in rows:
        print(
            f"{name:46} {ours:9.1f} {baseline:12.1f} {ours / baseline:6.0%} "
            f"{statements:9} {base_statements:9}"
        )
    print(
        "(SQL: statements per operation as the ORM logs them, without BEGIN/COMMIT and "
        "without the scope-setting round trip each pool acquire costs)"
    )
    for name, why in (("repeat", CREATE_WHY), ("inbox", INBOX_WHY), ("list", LIST_WHY)):
        print(f"{name}: the statements, and why each one")
        for i, sql in enumerate(SENT.get(name, []), start=1):
            reason = next((text for start, text in why if sql.startswith(start)), "")
            print(f"  {i:2}. {sql[:60]:60} {reason}")


# Why each statement of our createTicket is there (the baseline: counter, ticket,
# timeline, chain head, outbox rows, statistics marks — the same writes, by hand), by
# what the statement starts with.
CREATE_WHY = [
    ('SELECT … FROM "tenants"', "the city (not in the API: identity read it for the request)"),
    (
        "WITH checks AS",
        "opening, autocommit: category + area checked, then the day's number and the id"
        " (none taken when a check fails), the notifier's settings, the duplicate candidates",
    ),
    (
        "WITH new_tickets AS (INSERT",
        "the ticket (complete with its chain head) and its first timeline event",
    ),
    ("INSERT INTO channel_dup", "the duplicate proposals, if any (one INSERT; repeat caller)"),
    ("INSERT INTO timeline", "timeline events of the change not written with the ticket"),
    ("WITH zone", "statistics: the days it counts on (one statement)"),
    ("WITH added", "outbox: routing and notifications (one INSERT)"),
]
INBOX_WHY = [
    ("SELECT d.path", "the page (keyset by deadline) and its department's path, checked once"),
    ("SELECT … FROM tickets", "their tickets, their categories and the parents joined"),
    ("SELECT … FROM assignments", "every assignment of those tickets (one statement)"),
    ("SELECT … FROM departments", "the departments named on the page (one statement)"),
]
LIST_WHY = [
    (
        'SELECT … FROM "tickets"',
        "the page: search's query, sorted, keyset, limited, its categories and their"
        " parents joined",
    ),
    *INBOX_WHY[2:4],
]


async def _run(settings: Settings, creations: int, inbox_queries: int, backlog: int) -> None:
    await run_migrations(settings)
    await ensure_app_role(settings)
    await init_orm(settings)
    try:
        report(await measure(creations, inbox_queries, backlog))
    finally:
        await close_redis()
        await Tortoise.close_connections()


def main(
    creations: int = CREATIONS, inbox_queries: int = INBOX_QUERIES, backlog: int = BACKLOG
) -> int:
    with bench_environment(need_s3=False):
        asyncio.run(_run(get_settings(), creations, inbox_queries, backlog))
    return 0


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:4]]
    sys.exit(main(*args))
