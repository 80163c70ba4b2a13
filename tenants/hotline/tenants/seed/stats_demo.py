"""Months of history for the dashboards and the public page (docs/statistics.md,
"Demo history"): tickets with their lead assignments and outcomes, and call records,
written by SQL in a few statements per city; then the days' aggregates, the ended
months published, and the city's typical cases (:mod:`.cases_demo`) published with
their text redacted.

The figures are made to look like a city hotline's: a quarter to a third answered
directly, most of the rest dispatched, replied within days and graded — a few signed
or replied late —, a few cancelled, the last week's work partly open and a few older
work orders past their deadline; calls mostly answered within a minute. Each demo city
has its own profile (:data:`PROFILES`): Jinan, the provincial capital, takes more
tickets and calls than Dezhou, and their rates differ, so the province's ranking and the
two cities' pages tell different stories.

The tickets' texts are the routing demo's (:func:`.tickets_demo.generate`), naming the
city's own places, each filed under the category its words fit; the last closed ones
take the city's typical cases (text, category, lead department, reply) before they are
published, so the public page reads like a real center's 典型案例.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from hotline.platform import clock
from hotline.platform.db.migrate import analyze
from hotline.platform.settings import get_settings
from hotline.tenants.kernel.access import Actor
from hotline.tenants.provinces.models import Tenant
from hotline.tenants.seed.cases_demo import CASES
from hotline.tenants.seed.data import CityDemo
from hotline.tenants.seed.routing_demo import category_of
from hotline.tenants.seed.tickets_demo import generate
from hotline.tenants.statistics.aggregates import city_clock, recompute_range
from hotline.tenants.statistics.disclosure import month_bounds, publish_case, publish_month
from hotline.tenants.statistics.models import PublishedMonth
from hotline.tenants.tickets.models import Assignment, Ticket

DAYS = 120
TEXTS_PER_TOPIC = 20  # the history's pool of texts: 15 topics × 20


@dataclass(frozen=True)
class Profile:
    """How a demo city's history looks (a demo's volumes, not Jinan's 5,000 a day)."""

    per_day: int = 80  # tickets a day
    calls_per_day: int = 120
    direct_every: int = 4  # every n-th ticket answered directly (4: 25 %)
    cancel_every: int = 97  # every n-th ticket cancelled
    reply_days: int = 6  # replies come 1 … reply_days days after dispatch
    abandon_every: int = 15  # every n-th call abandoned
    ivr_every: int = 9  # every n-th call ended in the voice menu
    # the grades given on revisits, cycled (so the satisfaction rate is theirs)
    grades: tuple[str, ...] = tuple(
        [
            "satisfied",
            "satisfied",
            "satisfied",
            "basically_satisfied",
            "satisfied",
            "unsatisfied",
            "satisfied",
            "basically_satisfied",
            "unreachable",
            "satisfied",
        ]
    )


PROFILES: dict[str, Profile] = {
    # the capital: more of everything, replies a little faster, a few more complaints
    "jinan": Profile(
        per_day=125,
        calls_per_day=190,
        direct_every=4,
        cancel_every=97,
        reply_days=5,
        abandon_every=17,
        ivr_every=9,
        grades=tuple(
            [
                "satisfied",
                "satisfied",
                "basically_satisfied",
                "satisfied",
                "unsatisfied",
                "satisfied",
                "satisfied",
                "basically_satisfied",
                "unreachable",
                "satisfied",
                "satisfied",
                "satisfied",
            ]
        ),
    ),
    # a smaller city: fewer tickets, more answered at once, calls abandoned more often
    "dezhou": Profile(
        per_day=60,
        calls_per_day=95,
        direct_every=3,
        cancel_every=71,
        reply_days=7,
        abandon_every=11,
        ivr_every=8,
        grades=tuple(
            [
                "satisfied",
                "satisfied",
                "satisfied",
                "basically_satisfied",
                "satisfied",
                "unsatisfied",
                "satisfied",
                "unreachable",
                "satisfied",
            ]
        ),
    ),
}


def profile_of(tenant: Tenant) -> Profile:
    return PROFILES.get(str(tenant.slug), Profile())


_TICKETS = """
INSERT INTO tickets (tenant_id, province_id, number, query_code_hash, channel, kind, priority,
    status, title, content, anonymous, confidential, address, direct_answer, public_reply,
    revisit_attempts, reopen_count, urge_count, reject_reason, timeline_seq, timeline_hash,
    version, received_at, answered_at, dispatched_at, accepted_at, replied_at, revisited_at,
    closed_at, satisfaction, satisfaction_source, created_at, updated_at, category_id)
SELECT $1, $2, $3 || lpad(i::text, 8, '0'), 'demo-history',
    (ARRAY['phone','phone','phone','web','wechat','app'])[1 + i % 6],
    (ARRAY['complaint','consultation','help','suggestion','report'])[1 + (i / 3) % 5],
    CASE WHEN i % 40 = 0 THEN 'urgent' ELSE 'normal' END,
    CASE WHEN i % $10 = 0 THEN 'cancelled' WHEN direct THEN 'closed'
         WHEN fresh THEN 'dispatched' ELSE 'closed' END,
    '', ($4::text[])[1 + i % cardinality($4::text[])], false, false, '', direct,
    CASE WHEN NOT direct AND NOT fresh THEN '已派相关部门处理，已答复市民。' ELSE '' END,
    0, 0, 0, '', 0, '', 0, r,
    CASE WHEN direct THEN r + interval '8 minutes' END,
    CASE WHEN NOT direct THEN r + interval '30 minutes' END,
    CASE WHEN NOT direct AND NOT fresh
         THEN r + interval '30 minutes' + (i % 5 + late_sign) * interval '1 hour' END,
    CASE WHEN NOT direct AND NOT fresh THEN r + (1 + i % $11 + late_reply) * interval '1 day' END,
    CASE WHEN NOT direct AND NOT fresh THEN r + (2 + i % $11 + late_reply) * interval '1 day' END,
    CASE WHEN i % $10 = 0 THEN r + interval '1 hour'
         WHEN direct THEN r + interval '10 minutes'
         WHEN NOT fresh THEN r + (2 + i % $11 + late_reply) * interval '1 day' END,
    CASE WHEN NOT direct AND NOT fresh AND i % $10 <> 0
         THEN ($12::text[])[1 + (i / 7) % cardinality($12::text[])] END,
    CASE WHEN NOT direct AND NOT fresh AND i % $10 <> 0 THEN 'center' END,
    r, r, ($5::bigint[])[1 + i % cardinality($5::bigint[])]
FROM (SELECT i, r, i % $9 = 0 AS direct,
             -- part of the last week still open, and a few older ones past their deadline
             (r > $7::timestamptz - interval '7 days' AND i % 3 = 0)
             OR (r > $7::timestamptz - interval '12 days' AND i % 37 = 0)
             -- and every one whose reply and closing would still be to come
             OR r + (2 + i % $11 + CASE WHEN i % 13 = 0 THEN 4 ELSE 0 END)
                    * interval '1 day' > $7::timestamptz AS fresh,
             -- every 23rd signed 5–9 hours after dispatch, past its 4-hour deadline; every
             -- 13th replied four days later than the rest, past the 7-day deadline when it
             -- came late already
             CASE WHEN i % 23 = 0 THEN 5 ELSE 0 END AS late_sign,
             CASE WHEN i % 13 = 0 THEN 4 ELSE 0 END AS late_reply
      FROM (SELECT i, LEAST($6::timestamptz + (i - 1) * ($7::timestamptz - $6::timestamptz)
                   / $8 + (i * 7919 % 1800) * interval '1 second', $7::timestamptz) AS r
            FROM generate_series(1, $8) AS i) g) s"""

_LEADS = """
INSERT INTO assignments (tenant_id, province_id, created_at, updated_at, ticket_id,
    department_id, is_lead, status, round, sign_deadline, reply_deadline, extended_days,
    signed_at, replied_at, reply, return_reason, version)
SELECT t.tenant_id, t.province_id, t.dispatched_at, t.dispatched_at, t.id,
    ($2::bigint[])[1 + t.id % cardinality($2::bigint[])], true,
    CASE WHEN t.status = 'dispatched' THEN 'pending_sign' WHEN t.status = 'cancelled'
         THEN 'cancelled' ELSE 'closed' END, 1,
    t.dispatched_at + interval '4 hours', t.dispatched_at + interval '7 days', 0,
    t.accepted_at, t.replied_at, CASE WHEN t.replied_at IS NOT NULL THEN '已处理' ELSE '' END,
    '', 0
FROM tickets t WHERE t.tenant_id = $1 AND t.query_code_hash = 'demo-history' AND NOT t.direct_answer
    AND t.dispatched_at IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.tenant_id = $1 AND a.ticket_id = t.id)"""

_CALLS = """
INSERT INTO call_records (tenant_id, province_id, created_at, updated_at, call_id, day,
    started_at, answered_at, ended_at, queue, seat, seat_group, outcome, digest)
SELECT $1, $2, s, s, 'demo-' || i, (s AT TIME ZONE $5)::date, s,
    CASE WHEN o = 'answered' THEN s + (5 + i % 50) * interval '1 second' END,
    s + (CASE WHEN o = 'answered' THEN 60 + i % 400 ELSE 20 + i % 60 END) * interval '1 second',
    (ARRAY['hotline','hotline','hotline','business'])[1 + i % 4],
    CASE WHEN o = 'answered' THEN 'seat' || lpad((i % 40)::text, 2, '0') END,
    CASE WHEN o = 'answered' THEN (ARRAY['A','B','C'])[1 + i % 3] END,
    o, 'demo'
FROM (SELECT i, s, CASE WHEN i % $7 = 0 THEN 'abandoned' WHEN i % 31 = 0 THEN 'overflow'
                        WHEN i % $8 = 0 THEN 'ivr' ELSE 'answered' END AS o
      FROM (SELECT i, $3::timestamptz + (i - 1) * ($4::timestamptz - $3::timestamptz) / $6 AS s
            FROM generate_series(1, $6) AS i) g) c
ON CONFLICT (tenant_id, call_id, day) DO NOTHING"""


async def _take_cases(
    db: BaseDBAsyncClient, *, slug: str, departments: dict[str, int], categories: dict[str, int]
) -> list[int]:
    """The city's last closed dispatched tickets take its typical cases: text, title, kind,
    category, public reply and the lead's department and reply. Answer their ids."""
    cases = CASES.get(slug, ())
    ids = (
        await Ticket.filter(query_code_hash="demo-history", status="closed", direct_answer=False)
        .using_db(db)
        .order_by("-closed_at", "-id")
        .limit(len(cases))
        .values_list("id", flat=True)
    )
    taken = [int(str(i)) for i in ids]
    for ticket_id, case in zip(taken, cases, strict=False):
        await (
            Ticket.filter(id=ticket_id)
            .using_db(db)
            .update(
                kind=case.kind,
                title=case.title,
                content=case.content,
                public_reply=case.reply,
                category_id=categories[case.category],
            )
        )
        await (
            Assignment.filter(ticket_id=ticket_id, is_lead=True)
            .using_db(db)
            .update(department_id=departments[case.department], reply=case.reply)
        )
    return taken


async def seed_history(
    *,
    actor: Actor,
    tenant: Tenant,
    city: CityDemo,
    departments: dict[str, int],
    categories: dict[str, int],
) -> int:
    """Write DAYS days of history in the city's scope (set by the caller), unless the
    city has published figures already; answer the tickets written. ``departments`` and
    ``categories`` are the city's, code → id."""
    if await PublishedMonth.exists():
        return 0
    zone = ZoneInfo(str(tenant.timezone))
    today = clock.now().astimezone(zone).date()
    first = today - timedelta(days=DAYS)
    start = datetime.combine(first, time(8), tzinfo=zone)
    # the last receipt: its first hour's handling (a cancellation, a direct answer, the
    # dispatch) is over by now, and what would come later is left open (``fresh``)
    end = clock.now() - timedelta(hours=2)
    pool = generate(per_topic=TEXTS_PER_TOPIC, seed=tenant.id, city=city, noise=False)
    texts = [t.content for t in pool]
    filed = [categories[category_of(t.department, t.content)] for t in pool]
    profile = profile_of(tenant)
    n = DAYS * profile.per_day
    # A bulk load in steps, each idempotent: the planner needs fresh statistics of the
    # tickets before the leads are written (their foreign-key checks planned for an
    # empty table took 37 s for Jinan), and of everything before the aggregates.
    async with in_transaction("default") as db:
        await db.execute_script("SET LOCAL statement_timeout = '10min'")  # a busy machine
        if not await Ticket.filter(query_code_hash="demo-history").using_db(db).exists():
            await db.execute_query(
                _TICKETS,
                [
                    tenant.id,
                    tenant.province_id,
                    f"H{tenant.number_prefix}",
                    texts,
                    filed,
                    start,
                    end,
                    n,
                    profile.direct_every,
                    profile.cancel_every,
                    profile.reply_days,
                    list(profile.grades),
                ],
            )
    await analyze(get_settings(), ["tickets"])
    async with in_transaction("default") as db:
        await db.execute_script("SET LOCAL statement_timeout = '10min'")
        leads = [i for code, i in departments.items() if code != "center"]
        await db.execute_query(_LEADS, [tenant.id, leads])
        calls = [tenant.id, tenant.province_id, start, end, str(tenant.timezone)]
        await db.execute_query(
            _CALLS,
            [
                *calls,
                DAYS * profile.calls_per_day,
                profile.abandon_every,
                profile.ivr_every,
            ],
        )
        cases = await _take_cases(
            db, slug=str(tenant.slug), departments=departments, categories=categories
        )
    await analyze(get_settings(), ["assignments", "call_records"])
    await recompute_range(await city_clock(tenant), first, today - timedelta(days=1))
    month = first.replace(day=1)
    while month_bounds(month)[1] < today:
        await publish_month(actor=actor, month=month)
        month = month_bounds(month)[1] + timedelta(days=1)
    for ticket_id in cases:
        await publish_case(actor=actor, ticket_id=ticket_id)
    return n
