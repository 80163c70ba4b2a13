"""The ticket timeline and the audit log partitioned by month (docs/operations.md
"Partitioning"; call records: tests/statistics/test_partitions.py).

Both are range-partitioned parents with row-level security enabled and forced, a default
partition and months ahead; an event lands in its month's partition; a city reads and
writes only its own rows through the parent and nothing in a partition read directly;
the same-city key to tickets holds on the partitions; a ticket's hash chain verifies
across months, also once an event waiting in the default partition has moved to its
month; the timeline stays append-only on every partition; the worker's one maintenance
keeps every monthly table and detaches audit months past retention."""

from __future__ import annotations

from datetime import UTC, date, datetime

import asyncpg
import pytest
from tortoise import connections

from hotline.platform import clock
from hotline.platform.db import partitions
from hotline.platform.tenancy import use_scope
from hotline.tenants.kernel.audit import AuditEvent, record_audit
from hotline.tenants.tickets import timeline
from hotline.tenants.tickets.models import Ticket, TimelineEvent
from tests.partitions import attached_partitions, owner_fetch
from tests.tickets_api.conftest import World, make_ticket

TABLES = ("timeline_events", "audit_events")


def _month(day: date, shift: int = 0) -> date:
    index = day.year * 12 + day.month - 1 + shift
    return date(index // 12, index % 12 + 1, 1)


def _part(table: str, month: date) -> str:
    return f"{table}_p{month:%Y%m}"


def _mid(month: date) -> datetime:
    return datetime(month.year, month.month, 15, 12, tzinfo=UTC)


async def _where(table: str, column: str, value: object) -> list[str]:
    rows = await owner_fetch(
        f"SELECT tableoid::regclass::text AS p FROM {table} WHERE {column} = $1",  # noqa: S608
        value,
    )
    return [r["p"] for r in rows]


async def _append(ticket: Ticket, at: datetime, action: str) -> None:
    await timeline.append(
        ticket,
        action=action,
        at=at,
        actor_id=None,
        actor_role="agent",
        from_status="received",
        to_status="received",
        reason="",
    )
    await ticket.save(update_fields=["timeline_seq", "timeline_hash"])


@pytest.mark.parametrize("table", TABLES)
async def test_the_table_is_a_partitioned_parent_with_forced_row_security(
    world: World, table: str
) -> None:
    [parent] = await owner_fetch(
        "SELECT c.relkind::text AS kind, c.relrowsecurity AS rls, c.relforcerowsecurity AS force,"
        " pg_get_partkeydef(c.oid) AS key FROM pg_class c WHERE c.oid = $1::regclass",
        table,
    )
    assert dict(parent) == {"kind": "p", "rls": True, "force": True, "key": "RANGE (created_at)"}
    found = await attached_partitions(table)
    today = clock.now().date()
    for shift in range(4):  # this month and three ahead, made by the migration
        assert found[_part(table, _month(today, shift))] is True
    assert found[f"{table}_default"] is True
    assert all(found.values())  # row security on every partition
    [pkey] = await owner_fetch(
        "SELECT pg_get_constraintdef(oid) AS d FROM pg_constraint"
        " WHERE conrelid = $1::regclass AND contype = 'p'",
        table,
    )
    assert pkey["d"] == "PRIMARY KEY (id, created_at)"


async def test_timeline_events_land_in_their_month_and_tenancy_holds(world: World) -> None:
    alpha, beta = world.alpha, world.beta
    made = await make_ticket(alpha)
    ticket = made.ticket
    today = clock.now().date()
    assert await _where("timeline_events", "ticket_id", ticket.id) == [
        _part("timeline_events", _month(today))
    ]

    db = connections.get("default")  # the runtime role
    part = _part("timeline_events", _month(today))
    with use_scope(alpha.scope()):
        assert await TimelineEvent.filter(ticket_id=ticket.id).count() == 1
        [direct] = await db.execute_query_dict(f'SELECT count(*) AS n FROM "{part}"')  # noqa: S608
        assert direct["n"] == 0  # a partition read directly shows nothing
    with use_scope(beta.scope()):
        assert await TimelineEvent.filter(ticket_id=ticket.id).count() == 0

    row = (
        "INSERT INTO timeline_events (tenant_id, province_id, created_at, ticket_id, seq,"
        " action, actor_role, from_status, to_status, reason, data, prev_hash, hash)"
        " VALUES ($1, $2, now(), $3, 99, 'x', '', '', '', '', '{}', '', 'h')"
    )
    # beta cannot write into alpha's city (the parent's policy, on the partition too) ...
    with use_scope(beta.scope()), pytest.raises(Exception, match="row-level security"):
        await db.execute_query(row, [alpha.tenant.id, alpha.tenant.province_id, ticket.id])
    # ... nor hang its event on alpha's ticket (the same-city key holds on partitions)
    with (
        use_scope(beta.scope()),
        pytest.raises(Exception, match="timeline_events_ticket_id_same_tenant"),
    ):
        await db.execute_query(row, [beta.tenant.id, beta.tenant.province_id, ticket.id])

    # append-only on every partition, for the owner too
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await owner_fetch("UPDATE timeline_events SET reason = 'x' WHERE ticket_id = $1", ticket.id)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await owner_fetch(f'DELETE FROM "{part}" WHERE ticket_id = $1', ticket.id)  # noqa: S608


async def test_a_chain_verifies_across_months_and_after_a_move(world: World) -> None:
    alpha = world.alpha
    made = await make_ticket(alpha)
    ticket = made.ticket
    today = clock.now().date()
    later = _month(today, 1)
    far = _month(today, 7)  # no partition yet: the event waits in the default partition
    with use_scope(alpha.scope()):
        await _append(ticket, _mid(later), "urge")
        await _append(ticket, _mid(far), "urge")
    placed = await owner_fetch(
        "SELECT seq, tableoid::regclass::text AS p FROM timeline_events"
        " WHERE ticket_id = $1 ORDER BY seq",
        ticket.id,
    )
    assert [r["p"] for r in placed] == [
        _part("timeline_events", _month(today)),
        _part("timeline_events", later),
        "timeline_events_default",
    ]

    async def verified() -> bool:
        with use_scope(alpha.scope()):
            fresh = await Ticket.get(id=ticket.id)
            events = await TimelineEvent.filter(ticket_id=ticket.id).order_by("seq")
        return (
            len(events) == 3
            and events[-1].hash == fresh.timeline_hash
            and timeline.verify_chain(events)
        )

    assert await verified()
    # the maintenance moves the waiting event into its new month (past the append-only
    # trigger of the default partition, which is back on afterwards) and the chain holds
    done = await partitions.maintain(months_ahead=8, retention={})
    assert {d.table: d.made for d in done}["timeline_events"] == 5  # months 4 to 8
    [moved] = await owner_fetch(
        "SELECT tableoid::regclass::text AS p FROM timeline_events WHERE ticket_id = $1"
        " AND seq = 3",
        ticket.id,
    )
    assert moved["p"] == _part("timeline_events", far)
    assert await verified()
    triggers = await owner_fetch(
        "SELECT tgname, tgenabled::text AS on FROM pg_trigger"
        " WHERE tgrelid = 'timeline_events_default'::regclass AND NOT tgisinternal"
    )
    assert [tuple(t) for t in triggers] == [("timeline_events_append_only", "O")]  # back on


async def test_audit_rows_by_month_city_and_retention(world: World) -> None:
    alpha, beta = world.alpha, world.beta
    for city in (alpha, beta):
        await record_audit(
            actor_id=None,
            action="partition.test",
            target=city.slug,
            tenant_id=city.tenant.id,
            province_id=city.tenant.province_id,
        )
    today = clock.now().date()
    assert set(await _where("audit_events", "action", "partition.test")) == {
        _part("audit_events", _month(today))
    }
    db = connections.get("default")
    with use_scope(alpha.scope()):
        mine = await AuditEvent.filter(action="partition.test")
        assert [row.target for row in mine] == [alpha.slug]
        part = _part("audit_events", _month(today))
        [direct] = await db.execute_query_dict(f'SELECT count(*) AS n FROM "{part}"')  # noqa: S608
        assert direct["n"] == 0

    # an old month (made behind, as the migration does for existing rows), then retention
    await db.execute_query("SELECT hotline_make_month_partitions('audit_events', 0, 3)")
    old = _month(today, -3)
    with clock.travel(_mid(old)):
        await record_audit(
            actor_id=None,
            action="partition.old",
            tenant_id=alpha.tenant.id,
            province_id=alpha.tenant.province_id,
        )
    assert await _where("audit_events", "action", "partition.old") == [_part("audit_events", old)]
    done = await partitions.maintain(months_ahead=3, retention={"audit_events": 2})
    assert {d.table: d.detached for d in done} == {
        "timeline_events": 0,
        "audit_events": 2,  # months -3 and -2
        "call_records": 0,
        "outbox_delivered": 0,
        "notices": 0,
    }
    attached = await attached_partitions("audit_events")
    assert _part("audit_events", old) not in attached
    assert _part("audit_events", _month(today, -1)) in attached
    with use_scope(alpha.scope()):
        assert not await AuditEvent.filter(action="partition.old").exists()
    kept = await owner_fetch(f'SELECT count(*) AS n FROM "{_part("audit_events", old)}"')  # noqa: S608
    assert kept[0]["n"] == 1  # detached, not dropped

    with pytest.raises(Exception, match="not a month-partitioned table"):
        await db.execute_query("SELECT hotline_make_month_partitions('tickets', 1)")
    with pytest.raises(Exception, match="not a month-partitioned table"):
        await db.execute_query("SELECT hotline_detach_month_partitions_of('tickets', 1)")
