"""In-app notices partitioned by month (docs/operations.md "Partitioning"; the conversion
of existing rows: tests/upgrade/test_month_conversions.py).

``notices`` is a range-partitioned parent with row security enabled and forced, a default
partition and months ahead, keyed ``(id, created_at)`` and ``(tenant_id, send_key,
created_at)``; a notice's time is its outbox message's, so a redelivery inserts nothing
(and pushes nothing) whenever it runs, also in the next month; a city reads and writes
only its own notices through the parent and nothing in a partition read directly, and
cannot hang its notice on another city's ticket; the worker's maintenance keeps the
notices' months and detaches them only when a retention is configured."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from tortoise import connections

from hotline.platform import clock, outbox
from hotline.platform.db import partitions
from hotline.platform.redis import redis_client
from hotline.platform.settings import get_settings
from hotline.platform.tenancy import use_scope
from hotline.tenants.notifications.delivery import deliver_outbox, notice_channel
from hotline.tenants.notifications.models import Notice
from hotline.workers import tasks
from tests.partitions import attached_partitions, owner_fetch

if TYPE_CHECKING:
    from tests.workers.conftest import World


def _month(day: date, shift: int = 0) -> date:
    index = day.year * 12 + day.month - 1 + shift
    return date(index // 12, index % 12 + 1, 1)


def _part(month: date) -> str:
    return f"notices_p{month:%Y%m}"


def _start(month: date) -> datetime:
    return datetime(month.year, month.month, 1, tzinfo=UTC)


async def _where(send_key: str) -> list[tuple[str, datetime]]:
    rows = await owner_fetch(
        "SELECT tableoid::regclass::text AS p, created_at FROM notices WHERE send_key = $1",
        send_key,
    )
    return [(r["p"], r["created_at"]) for r in rows]


async def test_notices_are_a_partitioned_parent_with_forced_row_security(world: World) -> None:
    [parent] = await owner_fetch(
        "SELECT c.relkind::text AS kind, c.relrowsecurity AS rls, c.relforcerowsecurity AS force,"
        " pg_get_partkeydef(c.oid) AS key FROM pg_class c WHERE c.oid = 'notices'::regclass"
    )
    assert dict(parent) == {"kind": "p", "rls": True, "force": True, "key": "RANGE (created_at)"}
    found = await attached_partitions("notices")
    today = clock.now().date()
    for shift in range(4):  # this month and three ahead, made by the migration
        assert found[_part(_month(today, shift))] is True
    assert found["notices_default"] is True
    assert all(found.values())  # row security on every partition
    keys = await owner_fetch(
        "SELECT contype::text AS t, pg_get_constraintdef(oid) AS d FROM pg_constraint"
        " WHERE conrelid = 'notices'::regclass AND contype IN ('p', 'u') ORDER BY contype"
    )
    assert [(k["t"], k["d"]) for k in keys] == [
        ("p", "PRIMARY KEY (id, created_at)"),
        ("u", "UNIQUE (tenant_id, send_key, created_at)"),
    ]


async def test_a_redelivery_inserts_once_also_in_the_next_month(
    world: World, new_ticket: Any
) -> None:
    alpha = world.alpha
    user = alpha.users["handler"]
    with use_scope(alpha.scope()):
        ticket, _ = await new_ticket(alpha)
    key = f"{alpha.id}:month-edge:dispatch:inapp:{user.id}"
    oid = await outbox.add(
        kind="inapp",
        tenant_id=alpha.id,
        province_id=alpha.tenant.province_id,
        payload={
            "user_id": user.id,
            "event": "dispatch",
            "subject": "新工单",
            "body": "请签收",
            "ticket_id": ticket.id,
        },
        send_key=key,
    )
    assert oid is not None
    # the change that wrote the message committed in the last instant of this month
    this_month = _month(clock.now().date())
    edge = _start(_month(this_month, 1)) - timedelta(microseconds=1)
    db = connections.get("default")  # the outbox is infrastructure: no row security
    await db.execute_query("UPDATE outbox SET created_at = $1 WHERE id = $2", [edge, oid])

    pubsub = redis_client().pubsub()
    await pubsub.subscribe(notice_channel(alpha.id, user.id))
    # delivered an hour into the next month ...
    with clock.travel(edge + timedelta(hours=1)), use_scope(alpha.scope()):
        assert await deliver_outbox(outbox_id=oid) == "sent"
    assert await _where(key) == [(_part(this_month), edge)]  # the message's month and time
    # ... and again forty days later: the worker died before settling it
    await db.execute_query(
        "UPDATE outbox SET status = 'pending', sent_at = NULL WHERE id = $1", [oid]
    )
    with clock.travel(edge + timedelta(days=40)), use_scope(alpha.scope()):
        assert await deliver_outbox(outbox_id=oid) == "sent"
    assert await _where(key) == [(_part(this_month), edge)]  # still one notice

    pushed = []
    for _ in range(3):  # the first read may be the subscription's confirmation
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
        if message is not None:
            pushed.append(json.loads(message["data"]))
    await pubsub.aclose()  # type: ignore[no-untyped-call]
    with use_scope(alpha.scope()):
        [notice] = await Notice.filter(send_key=key)
    assert pushed == [{"notice_id": notice.id}]  # the redelivery pushed nothing


async def test_a_city_reads_and_writes_only_its_own_notices_on_every_partition(
    world: World, new_ticket: Any
) -> None:
    alpha, beta = world.alpha, world.beta
    with use_scope(alpha.scope()):
        ticket, _ = await new_ticket(alpha)
        notice = await Notice.create(
            user_id=alpha.users["handler"].id,
            event="dispatch",
            title="新工单",
            ticket_id=ticket.id,
            send_key="rls:1",
        )
    part = _part(_month(clock.now().date()))
    assert [p for p, _ in await _where("rls:1")] == [part]

    db = connections.get("default")  # the runtime role
    with use_scope(alpha.scope()):
        assert await Notice.filter(send_key="rls:1").count() == 1
        [direct] = await db.execute_query_dict(f'SELECT count(*) AS n FROM "{part}"')  # noqa: S608
        assert direct["n"] == 0  # a partition read directly shows nothing
    with use_scope(beta.scope()):
        assert not await Notice.filter(send_key="rls:1").exists()
        assert await Notice.filter(id=notice.id).update(read_at=clock.now()) == 0

    row = (
        "INSERT INTO notices (tenant_id, province_id, user_id, event, title, body, ticket_id,"
        " send_key, created_at) VALUES ($1, $2, 1, 'dispatch', 'x', '', $3, $4, now())"
    )
    # beta cannot write into alpha's city (the parent's policy, on the partition too) ...
    with use_scope(beta.scope()), pytest.raises(Exception, match="row-level security"):
        await db.execute_query(row, [alpha.id, alpha.tenant.province_id, ticket.id, "rls:2"])
    # ... nor hang its notice on alpha's ticket (the same-city key holds on partitions)
    with use_scope(beta.scope()), pytest.raises(Exception, match="notices_ticket_id_same_tenant"):
        await db.execute_query(row, [beta.id, beta.tenant.province_id, ticket.id, "rls:3"])
    assert await _where("rls:2") == []
    assert await _where("rls:3") == []


async def test_the_maintenance_keeps_notice_months_and_detaches_only_when_configured(
    world: World,
) -> None:
    alpha = world.alpha
    today = clock.now().date()
    db = connections.get("default")  # the runtime role keeps partitions of the owner's table
    await db.execute_query("SELECT hotline_make_month_partitions('notices', 0, 3)")
    old = _month(today, -3)
    with use_scope(alpha.scope()):
        await Notice.create(
            user_id=alpha.users["handler"].id,
            event="dispatch",
            title="旧通知",
            send_key="old:1",
            created_at=_start(old) + timedelta(days=14),
        )
    assert [p for p, _ in await _where("old:1")] == [_part(old)]

    # the nightly cron with the defaults: users read their notices, none is detached
    assert get_settings().notices_retention_months == 0
    await tasks.maintain_partitions({})
    assert _part(old) in await attached_partitions("notices")

    done = await partitions.maintain(months_ahead=5, retention={"notices": 2})
    assert [(d.made, d.detached) for d in done if d.table == "notices"] == [(2, 2)]
    attached = await attached_partitions("notices")
    assert _part(_month(today, 5)) in attached  # made ahead
    assert _part(old) not in attached  # months -3 and -2 detached
    assert _part(_month(today, -1)) in attached
    with use_scope(alpha.scope()):
        assert not await Notice.filter(send_key="old:1").exists()  # out of every inbox
    [kept] = await owner_fetch(f'SELECT count(*) AS n FROM "{_part(old)}"')  # noqa: S608
    assert kept["n"] == 1  # detached, not dropped
