"""Intake: a submission becomes a work order (any channel), and what the center sees
beside it — the routing rules' suggestions and earlier tickets that may be duplicates.

A new ticket is routed by a worker (rules, then the city's model): the ``route``
outbox row is written in the ticket's own transaction, so a committed ticket is always
routed (:mod:`.autodispatch`). An emergency goes straight to the city's duty room.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from hotline.platform import clock as wall
from hotline.platform import outbox
from hotline.platform.crypto import encrypt, keyed_hash
from hotline.platform.tenancy import current_tenant_id
from hotline.tenants.departments.models import Department
from hotline.tenants.kernel.access import Action, Actor, require
from hotline.tenants.kernel.errors import Invalid, NotFound
from hotline.tenants.kernel.events import TicketEvent, unit
from hotline.tenants.notifications import rules
from hotline.tenants.routing import service as routing
from hotline.tenants.routing.models import RoutingRule
from hotline.tenants.tickets import access, numbering, policy
from hotline.tenants.tickets.dispatch import dispatch_to
from hotline.tenants.tickets.flow import OPEN
from hotline.tenants.tickets.geo import Datum, to_wgs84
from hotline.tenants.tickets.models import Channel, Kind, Priority, Status, Ticket
from hotline.tenants.tickets.phones import PHONE_PURPOSE, normalize_phone
from hotline.tenants.tickets.work import Change, change

_COORD = Decimal("0.0000001")
# The outbox kind of "route this new ticket" (handled by .autodispatch).
ROUTE_KIND = "route"


@dataclass(frozen=True)
class Repeats:
    """Earlier tickets a new one may repeat, read with the creation's opening statement
    (the duplicate detector's candidates, :mod:`hotline.tenants.channels.duplicates`):
    open, received within ``window`` before it, the same caller's ``callers`` newest
    and the same category's ``nearby`` newest (each on its index, LIMITed: the read does
    not grow with a repeat caller's history nor a busy category's week)."""

    window: timedelta
    callers: int
    nearby: int


class Earlier(NamedTuple):
    """What the duplicate rule reads of an earlier open ticket (a tuple: up to 55 of them
    a creation)."""

    id: int
    received_at: datetime
    phone_hash: str | None
    category_id: int | None
    area_id: int | None
    address: str
    lng: Decimal | None
    lat: Decimal | None


Within = Callable[[Change, Ticket, list[Earlier]], Awaitable[None]]
Opened = tuple[int, int, list[Earlier]]  # the day's serial, the ticket's id, candidates

# A creation's one statement before its transaction (autocommit): the category and the
# area checked, and only when both are usable (no row: a typed error, nothing changed)
# the day's counter bumped and an id taken from the sequence; beside them the
# notifier's settings (notifications.rules.SETTINGS_COLUMNS) and, for the intake
# pipeline, the duplicate candidates. The counter row is locked for this statement only,
# not until the creation commits, so creations in a city do not queue behind each other;
# a creation that fails afterwards leaves a gap (docs/tickets.md "Numbers").
# Its commit does not wait for the WAL flush (``<lazy_commit>``, when it runs on its own):
# the bump only matters with the ticket that carries the number, and the ticket's
# commit, written after it, flushes it too; a crash before then loses a number no
# committed ticket holds. One synchronous flush per creation, not two.
_OPENING = """
WITH checks AS (
  SELECT (SELECT is_active FROM categories WHERE tenant_id = $1 AND id = $4) AS category,
         (SELECT is_active FROM departments WHERE tenant_id = $1 AND id = $5) AS area
         <lazy_commit>
), counter AS (
  INSERT INTO ticket_counters (tenant_id, province_id, day, last_number, created_at)
  SELECT $1, $2, $3, 1, now() FROM checks
  WHERE ($4::bigint IS NULL OR checks.category) AND ($5::bigint IS NULL OR checks.area)
  ON CONFLICT (tenant_id, day)
  DO UPDATE SET last_number = ticket_counters.last_number + 1 RETURNING last_number
)
SELECT checks.category, checks.area, counter.last_number,
  CASE WHEN counter.last_number IS NULL THEN NULL ELSE nextval('tickets_id_seq') END AS id,
  <settings> <repeats>
FROM checks LEFT JOIN counter ON true <repeats_from>
""".replace("<settings>", rules.SETTINGS_COLUMNS)

# The candidates, newest first: the caller's ($6: phone hash) and the category's ($4)
# open tickets received from $7 to $8, $9 and $10 of them at most. The open statuses are
# written into the text, not passed: the category's arm is planned on
# ``channels_tickets_category_open`` (channels migration 0006), an index of the open
# tickets only, and a parameter would not let even a generic plan prove that its rows are
# in it. Read through the full (category, received) index, the busy category of a large
# city had a week's closed tickets filtered out row by row: 113,000 rows, 64 ms a
# creation at 5,000,000 tickets (docs/performance.md).
_OPEN_SQL = "(" + ", ".join(f"'{s.value}'" for s in sorted(OPEN)) + ")"
_REPEATS_FROM = """
LEFT JOIN LATERAL (
  SELECT array_agg(id ORDER BY received_at DESC, id DESC) AS r_id,
    array_agg(received_at ORDER BY received_at DESC, id DESC) AS r_at,
    array_agg(citizen_phone_hash ORDER BY received_at DESC, id DESC) AS r_phone,
    array_agg(category_id ORDER BY received_at DESC, id DESC) AS r_category,
    array_agg(area_id ORDER BY received_at DESC, id DESC) AS r_area,
    array_agg(address ORDER BY received_at DESC, id DESC) AS r_address,
    array_agg(lng ORDER BY received_at DESC, id DESC) AS r_lng,
    array_agg(lat ORDER BY received_at DESC, id DESC) AS r_lat
  FROM (
    (SELECT id, received_at, citizen_phone_hash, category_id, area_id, address, lng, lat
     FROM tickets WHERE tenant_id = $1 AND citizen_phone_hash = $6
       AND status IN <open> AND received_at >= $7 AND received_at <= $8
     ORDER BY received_at DESC, id DESC LIMIT $9)
    UNION
    (SELECT id, received_at, citizen_phone_hash, category_id, area_id, address, lng, lat
     FROM tickets WHERE tenant_id = $1 AND category_id = $4
       AND status IN <open> AND received_at >= $7 AND received_at <= $8
     ORDER BY received_at DESC, id DESC LIMIT $10)
  ) candidates
) repeats ON true
""".replace("<open>", _OPEN_SQL)
_REPEATS = ", repeats.*"
# the statement's own (implicit) transaction only: set_config's third argument is "local"
_LAZY_COMMIT = ", set_config('synchronous_commit', 'off', true) AS lazy_commit"


def opening_sql(*, repeats: bool, alone: bool) -> str:
    """The opening's text: with the candidates' read or without; committing on its own
    (lazily, ``alone``) or inside a caller's transaction, where the setting would last
    until that one commits."""
    sql = _OPENING.replace("<lazy_commit>", _LAZY_COMMIT if alone else "")
    if repeats:
        return sql.replace("<repeats_from>", _REPEATS_FROM).replace("<repeats>", _REPEATS)
    return sql.replace("<repeats_from>", "").replace("<repeats>", "")


async def _opening(
    conn: BaseDBAsyncClient,
    alone: bool,
    *,
    tenant_id: int,
    province_id: int,
    day: date,
    category_id: int | None,
    area_id: int | None,
    phone_hash: str | None,
    at: datetime,
    repeats: Repeats | None,
) -> Opened:
    """The opening statement: (the day's serial, the ticket's id, the candidates); on
    ``conn``, committing on its own when ``alone``."""
    args: list[Any] = [tenant_id, province_id, day, category_id, area_id]
    wanted = repeats is not None and (phone_hash is not None or category_id is not None)
    if repeats is not None and wanted:
        args += [
            phone_hash,
            at - repeats.window,
            at,
            repeats.callers,
            repeats.nearby,
        ]
    row = (await conn.execute_query_dict(opening_sql(repeats=wanted, alone=alone), args))[0]
    if category_id is not None:
        if row["category"] is None:
            raise NotFound("category", field="categoryId")
        if not row["category"]:
            raise Invalid("the category is inactive", field="categoryId")
    if area_id is not None:
        if row["area"] is None:
            raise NotFound("department", field="areaId")
        if not row["area"]:
            raise Invalid("the department is deactivated", field="areaId")
    rules.remember_settings(tenant_id, row)
    earlier = (
        [
            Earlier(*values)
            for values in zip(
                row["r_id"],
                row["r_at"],
                row["r_phone"],
                row["r_category"],
                row["r_area"],
                row["r_address"],
                row["r_lng"],
                row["r_lat"],
                strict=True,
            )
        ]
        if wanted and row["r_id"] is not None
        else []
    )
    return int(row["last_number"]), int(row["id"]), earlier


@dataclass(frozen=True)
class CreatedTicket:
    ticket: Ticket
    query_code: str  # shown to the citizen once; only its keyed hash is stored
    created: bool  # False when the idempotency key found an existing ticket


@dataclass(frozen=True)
class Suggestion:
    department: Department
    rule_id: int | None  # None: the duty room for an urgent matter, before any rule
    rule_name: str  # "urgent: <kind>" for the duty room


def _location(
    lng: Decimal | float | None, lat: Decimal | float | None, datum: Datum
) -> tuple[Decimal | None, Decimal | None]:
    if lng is None and lat is None:
        return None, None
    if lng is None or lat is None:
        raise Invalid("give both longitude and latitude", field="location")
    if not (-180 <= float(lng) <= 180 and -90 <= float(lat) <= 90):
        raise Invalid("coordinates out of range", field="location")
    w_lng, w_lat = to_wgs84(float(lng), float(lat), datum)
    return Decimal(repr(w_lng)).quantize(_COORD), Decimal(repr(w_lat)).quantize(_COORD)


async def create_ticket(
    *,
    actor: Actor,
    channel: Channel,
    kind: Kind,
    content: str,
    title: str = "",
    priority: Priority = Priority.NORMAL,
    citizen_name: str | None = None,
    citizen_phone: str | None = None,
    anonymous: bool = False,
    confidential: bool = False,
    address: str = "",
    lng: Decimal | float | None = None,
    lat: Decimal | float | None = None,
    datum: Datum = Datum.WGS84,
    category_id: int | None = None,
    area_id: int | None = None,
    idempotency_key: str | None = None,
    within: Within | None = None,
    repeats: Repeats | None = None,
) -> CreatedTicket:
    """Record a submission. An emergency goes at once to the city's duty room.

    Anonymous tickets keep neither name nor phone. A repeated ``idempotency_key``
    returns the first ticket (and the same query code), also under concurrency.
    ``within`` runs in the new ticket's transaction (the intake pipeline's records,
    :mod:`hotline.tenants.channels.pipeline`), given the earlier tickets ``repeats``
    asked for (none without it).
    """
    require(actor, Action.TICKET_CREATE)
    content = policy.required(content, "content", "the content")
    if len(title) > 200 or len(address) > 300:
        raise Invalid("title or address too long", field="title" if len(title) > 200 else "address")
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 100:
        raise Invalid("an idempotency key is 1 to 100 characters", field="idempotencyKey")
    name = None if anonymous or not citizen_name else citizen_name.strip()[:100] or None
    phone = None if anonymous or not citizen_phone else normalize_phone(citizen_phone)
    w_lng, w_lat = _location(lng, lat, datum)
    phone_hash = keyed_hash(phone, PHONE_PURPOSE) if phone else None
    at = wall.now()  # the number's day, the ticket's receipt, the candidates' window
    try:
        async with unit():  # the city row is read once, here, for the transaction too
            # Before the transaction: the repeat lookup (autocommit), then the opening
            # (checks, number and id, what the notifier and the duplicate detector read),
            # committed on its own on the transaction's connection before its BEGIN.
            with access.city_scope(actor):
                tenant = await policy.city(current_tenant_id())
                if idempotency_key is not None:
                    existing = await Ticket.get_or_none(idempotency_key=idempotency_key)
                    if existing is not None:
                        return _repeat(existing, idempotency_key)
            day = numbering.local_day(at, tenant.timezone)

            async def opening(conn: BaseDBAsyncClient, alone: bool) -> Opened:
                return await _opening(
                    conn,
                    alone,
                    tenant_id=tenant.id,
                    province_id=tenant.province_id,
                    day=day,
                    category_id=category_id,
                    area_id=area_id,
                    phone_hash=phone_hash,
                    at=at,
                    repeats=repeats,
                )

            # One transaction (one pool acquire, the opening's too) for every write.
            async with change(
                actor, Action.TICKET_CREATE, checked=True, now=at, opening=opening
            ) as c:
                serial, ticket_id, earlier = c.opened
                number = numbering.format_number(tenant.number_prefix, day, serial)
                duty_room = None
                if priority is Priority.EMERGENCY:
                    duty_room = (
                        await Department.filter(is_duty_room=True, is_active=True)
                        .order_by("depth", "id")
                        .first()
                    )
                code = (
                    numbering.new_query_code()
                    if idempotency_key is None
                    else numbering.query_code_for_key(tenant.id, idempotency_key)
                )
                # Written when the change finishes, with its first event (one statement).
                ticket = c.hold(
                    Ticket(
                        id=ticket_id,
                        tenant_id=tenant.id,
                        province_id=tenant.province_id,
                        number=number,
                        query_code_hash=numbering.hash_query_code(tenant.id, code),
                        channel=channel,
                        kind=kind,
                        priority=priority,
                        title=title.strip(),
                        content=content,
                        citizen_name_enc=encrypt(name) if name else None,
                        citizen_phone_enc=encrypt(phone) if phone else None,
                        citizen_phone_hash=phone_hash,
                        anonymous=anonymous,
                        confidential=confidential,
                        address=address.strip(),
                        lng=w_lng,
                        lat=w_lat,
                        category_id=category_id,
                        area_id=area_id,
                        idempotency_key=idempotency_key,
                        created_by_id=actor.user_id,
                        # = the create event's moment, which statistics count it by
                        # (statistics.aggregates._MARK_NEW)
                        received_at=c.now,
                    )
                )
                await c.record(
                    ticket,
                    TicketEvent.CREATED,
                    from_status="",
                    to_status=Status.RECEIVED.value,
                    data={"channel": channel.value, "kind": kind.value, "priority": priority.value},
                )
                if duty_room is not None:
                    clock = await policy.clock(tenant.id, category_id)
                    await ticket.save(using_db=c.conn, force_create=True)  # assignments refer to it
                    await dispatch_to(
                        c,
                        ticket,
                        clock=clock,
                        lead=duty_room,
                        co=[],
                        reason="emergency: straight to the duty room",
                    )
                else:
                    c.outbox.append(
                        outbox.NewMessage(
                            kind=ROUTE_KIND,
                            tenant_id=ticket.tenant_id,
                            province_id=ticket.province_id,
                            payload={"ticket_id": ticket.id},
                            send_key=f"route-{ticket.tenant_id}-{ticket.id}",
                        )
                    )
                if within is not None:
                    if not ticket._saved_in_db:
                        # the caller's records refer to the row: written now, complete
                        # (its chain head recorded above) with its first event, so it is
                        # not updated again
                        await c.write_now(ticket)
                    await within(c, ticket, earlier)
    except IntegrityError:
        if idempotency_key is None:
            raise
        # Another request with the same key committed first.
        with access.city_scope(actor):
            existing = await Ticket.get_or_none(idempotency_key=idempotency_key)
        if existing is None:
            raise
        return _repeat(existing, idempotency_key)
    return CreatedTicket(ticket=ticket, query_code=code, created=True)


def _repeat(ticket: Ticket, idempotency_key: str) -> CreatedTicket:
    code = numbering.query_code_for_key(ticket.tenant_id, idempotency_key)
    return CreatedTicket(ticket=ticket, query_code=code, created=False)


async def suggest_departments(
    *,
    actor: Actor,
    content: str,
    title: str = "",
    category_id: int | None = None,
    area_id: int | None = None,
    limit: int = 3,
) -> list[Suggestion]:
    """Departments of the routing rules that match, in rule order (the first is the rule's
    choice): area within the rule's subtree, category within its subtree, any keyword.
    An urgent matter (a gas leak …) puts the city's duty room first, as the worker's
    routing decision does (:func:`routing.urgent_duty_room`, the same check): the
    immediate answer and the stored one name the same department."""
    require(actor, Action.TICKET_CREATE)
    with access.city_scope(actor):
        found = await routing.urgent_duty_room(routing.request_text(title, content))
        first = (
            [Suggestion(found.duty_room, None, f"urgent: {found.kind}")]
            if found is not None
            else []
        )
        picked: list[RoutingRule] = []
        for rule in await routing.matching_rules(
            content=content, category_id=category_id, area_id=area_id
        ):
            if all(p.department_id != rule.department_id for p in picked):
                picked.append(rule)
        departments = {
            d.id: d
            for d in await Department.filter(
                id__in=[r.department_id for r in picked], is_active=True
            )
        }
    return [
        *first,
        *(
            Suggestion(department=departments[r.department_id], rule_id=r.id, rule_name=r.name)
            for r in picked
            if r.department_id in departments
            and all(s.department.id != r.department_id for s in first)
        ),
    ][:limit]


async def duplicate_candidates(
    *, actor: Actor, ticket_id: int, within_days: int = 30, limit: int = 10
) -> list[Ticket]:
    """Earlier tickets of the same caller, or of the same category and area, within N days."""
    require(actor, Action.TICKET_DISPATCH)
    ticket = await access.access_ticket(actor=actor, ticket_id=ticket_id)
    same = Q(id=-1)
    if ticket.citizen_phone_hash:
        same |= Q(citizen_phone_hash=ticket.citizen_phone_hash)
    if ticket.category_id is not None and ticket.area_id is not None:
        same |= Q(category_id=ticket.category_id, area_id=ticket.area_id)
    with access.city_scope(actor):
        found: list[Ticket] = (
            await Ticket.filter(same)
            .filter(
                received_at__gte=ticket.received_at - timedelta(days=within_days),
                received_at__lte=ticket.received_at,
            )
            .exclude(id=ticket.id)
            .exclude(status=Status.MERGED)
            .order_by("-received_at", "-id")
            .limit(limit)
        )
    return found
