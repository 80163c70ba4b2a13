"""statistics 0006 (call records partitioned by month), released before its conversion
could run as a production owner, keeps every call record — as the superuser and as an
owner without BYPASSRLS (the old table forces row security on its owner: a copy without
``NO FORCE`` read no row, and the table was dropped with every record in it; the foreign
key to tickets, validated after the copy, saw no ticket)."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest

from tests.upgrade.test_month_conversions import (
    NOW,
    Before,
    _insert,
    _month,
    databases_before,
)

BEFORE = ("platform.0003_month_partitions", "statistics.0005_province_exports")


before = databases_before("hotline_calls", BEFORE)


async def test_the_call_records_conversion_keeps_every_record_in_its_month(
    before: Before,
) -> None:
    async with before.superuser() as conn:
        province = await _insert(conn, "provinces", code="370000", slug="sd", name="山东省")
        city = await _insert(
            conn, "tenants", province_id=province, code="370100", slug="a", name="A"
        )
        ticket = await _insert(conn, "tickets", tenant_id=city, province_id=province, number="A1")
        days = [_month(NOW.date(), -4) + timedelta(days=3), NOW.date()]
        records = {
            await _insert(
                conn, "call_records", tenant_id=city, province_id=province,
                call_id=f"c{i}", day=day, ticket_id=ticket if i == 0 else None,
            ): day
            for i, day in enumerate(days)
        }  # fmt: skip

        await before.migrate("statistics.0006_call_records_by_month")

        found = await conn.fetch(
            "SELECT id, day, tableoid::regclass::text AS p, ticket_id FROM call_records"
        )
        assert {r["id"]: (r["day"], r["p"]) for r in found} == {
            i: (day, f"call_records_p{day:%Y%m}") for i, day in records.items()
        }
        assert sorted(r["ticket_id"] for r in found if r["ticket_id"]) == [ticket]
        assert await conn.fetchval(
            "SELECT relforcerowsecurity FROM pg_class WHERE oid = 'call_records'::regclass"
        )
        assert await conn.fetchval("SELECT to_regclass('call_records_plain')") is None
        # the tickets key holds on the converted table
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await _insert(
                conn, "call_records", tenant_id=city, province_id=province, call_id="x",
                day=NOW.date(), ticket_id=ticket + 999,
            )  # fmt: skip
