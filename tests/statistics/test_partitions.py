"""Call records partitioned by month (docs/operations.md "Partitioning"): the table is a
range-partitioned parent with a default partition and months ahead; pushed calls land
in their month; row-level security and the same-city keys hold on the partitions (a
partition read directly by the runtime role shows nothing; another city's ticket cannot
be linked); a call moved to another day stays one row; the worker's maintenance makes
the coming months (moving waiting rows out of the default partition) and detaches months
past retention."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from tortoise import connections

from hotline.platform import clock
from hotline.platform.db import partitions
from hotline.platform.tenancy import use_scope
from hotline.tenants.statistics.models import CallRecord
from hotline.workers import tasks
from tests.partitions import attached_partitions, owner_fetch
from tests.statistics.test_calls import SH, START, CtiWorld, _at, _calls
from tests.statistics.test_calls import cti as cti
from tests.tickets_api.conftest import make_ticket

WHERE_FUTURE = "SELECT tableoid::regclass::text AS p FROM call_records WHERE call_id = 'future'"


def _month(day: date, shift: int = 0) -> date:
    index = day.year * 12 + day.month - 1 + shift
    return date(index // 12, index % 12 + 1, 1)


def _part(month: date) -> str:
    return f"call_records_p{month:%Y%m}"


async def test_pushed_calls_land_in_their_month_and_tenancy_holds(cti: CtiWorld) -> None:
    [parent] = await owner_fetch(
        "SELECT c.relkind::text AS kind, c.relrowsecurity AS rls, c.relforcerowsecurity AS force"
        " FROM pg_class c WHERE c.oid = 'call_records'::regclass"
    )
    assert dict(parent) == {"kind": "p", "rls": True, "force": True}
    today = clock.now().date()
    found = await attached_partitions("call_records")
    for shift in range(4):  # this month and three ahead, made by the migration
        assert found[_part(_month(today, shift))] is True
    assert found["call_records_default"] is True
    assert all(found.values())

    result = await cti.push("alpha", _calls(cti.ticket_number))
    assert result["created"] == 4, result
    await cti.push("beta", _calls("BE-none")[:2])
    placed = await owner_fetch(
        "SELECT tableoid::regclass::text AS part, day FROM call_records WHERE call_id = 'c1'"
    )
    assert {r["part"] for r in placed} == {_part(_month(r["day"])) for r in placed}

    alpha, beta = cti.alpha, cti.beta
    part = _part(_month(placed[0]["day"]))
    db = connections.get("default")  # the runtime role
    with use_scope(alpha.scope()):
        assert await CallRecord.filter().count() == 4
        assert await CallRecord.across_tenants().count() == 4  # beta's are not visible
        [direct] = await db.execute_query_dict(f'SELECT count(*) AS n FROM "{part}"')  # noqa: S608
        assert direct["n"] == 0  # a partition read directly shows nothing
    with use_scope(beta.scope()):
        assert await CallRecord.filter().count() == 2

    # the same-city key holds on the partitions: alpha's row cannot name beta's ticket
    other = await make_ticket(beta)
    with (
        use_scope(alpha.scope()),
        pytest.raises(Exception, match="call_records_ticket_id_same_tenant"),
    ):
        await db.execute_query(
            "INSERT INTO call_records (tenant_id, province_id, created_at, updated_at,"
            " call_id, day, started_at, queue, outcome, digest, ticket_id)"
            " VALUES ($1, $2, now(), now(), 'x1', current_date, now(), 'q', 'ivr', 'd', $3)",
            [alpha.tenant.id, alpha.tenant.province_id, other.ticket.id],
        )

    # a call pushed again with another start day stays one row, in its new day's month
    moved = dict(
        _calls(cti.ticket_number)[3], startedAt=_at(-40 * 86400), endedAt=_at(-40 * 86400 + 60)
    )
    again = await cti.push("alpha", [moved])
    assert (again["created"], again["updated"]) == (0, 1), again
    with use_scope(alpha.scope()):
        days = await CallRecord.filter(call_id="c4").values_list("day", flat=True)
    assert days == [(START - timedelta(days=40)).astimezone(SH).date()]
    # ... keeping its id and its ticket link when the CTI's update names no ticket
    with use_scope(alpha.scope()):
        before = await CallRecord.get(call_id="c1")
    assert before.ticket_id is not None
    first = _calls(cti.ticket_number)[0]
    shifted = {
        **{k: v for k, v in first.items() if k != "ticketNumber"},
        **{
            k: _at(-40 * 86400 + n)
            for k, n in (("startedAt", 0), ("answeredAt", 10), ("endedAt", 130))
        },
    }
    again = await cti.push("alpha", [shifted])
    assert (again["created"], again["updated"]) == (0, 1), again
    with use_scope(alpha.scope()):
        after = await CallRecord.filter(call_id="c1").values("id", "day", "ticket_id")
    assert after == [{"id": before.id, "day": days[0], "ticket_id": before.ticket_id}]


async def test_the_worker_makes_months_ahead_and_detaches_past_retention(cti: CtiWorld) -> None:
    alpha = cti.alpha
    today = clock.now().date()
    # a call five months ahead waits in the default partition (no partition yet)
    ahead = _month(today, 5)
    await cti.push(
        "alpha",
        [dict(_calls("")[3], callId="future", startedAt=f"{ahead.isoformat()}T12:00:00+08:00",
              endedAt=f"{ahead.isoformat()}T12:01:00+08:00")],
    )  # fmt: skip
    [where] = await owner_fetch(
        "SELECT tableoid::regclass::text AS p FROM call_records WHERE call_id = 'future'"
    )
    assert where["p"] == "call_records_default"

    assert await tasks.maintain_partitions({}) == 0  # the nightly cron: 3 ahead exist
    done = await partitions.maintain(months_ahead=6, retention={})  # as the runtime role
    assert [(d.made, d.detached) for d in done if d.table == "call_records"] == [(3, 0)]
    [where] = await owner_fetch(
        "SELECT tableoid::regclass::text AS p FROM call_records WHERE call_id = 'future'"
    )
    assert where["p"] == _part(ahead)  # moved out of the default partition
    assert (await attached_partitions("call_records"))[
        _part(ahead)
    ] is True  # row security on the new one

    # three months back, an old call in the oldest; retention of two months detaches it
    db = connections.get("default")
    await db.execute_query("SELECT hotline_make_month_partitions('call_records', 0, 3)")
    old = _month(today, -3) + timedelta(days=14)
    await cti.push(
        "alpha",
        [dict(_calls("")[3], callId="old", startedAt=f"{old.isoformat()}T12:00:00+08:00",
              endedAt=f"{old.isoformat()}T12:01:00+08:00")],
    )  # fmt: skip
    with use_scope(alpha.scope()):
        assert await CallRecord.filter(call_id="old").exists()
    done = await partitions.maintain(months_ahead=6, retention={"call_records": 2})
    assert [(d.made, d.detached) for d in done if d.table == "call_records"] == [(0, 2)]
    attached = await attached_partitions("call_records")
    assert _part(_month(today, -3)) not in attached
    assert _part(_month(today, -1)) in attached
    with use_scope(alpha.scope()):
        assert not await CallRecord.filter(call_id="old").exists()  # out of every query
    [kept] = await owner_fetch(f'SELECT count(*) AS n FROM "{_part(_month(today, -3))}"')  # noqa: S608
    assert kept["n"] == 1  # detached, not dropped: the operator archives it

    # the runtime role cannot partition any other table through the functions
    with pytest.raises(Exception, match="not a month-partitioned table"):
        await db.execute_query("SELECT hotline_make_month_partitions('tickets', 1)")
