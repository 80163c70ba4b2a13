"""statistics 0011 fills ``stats_monthly_departments`` for the months already stored,
city by city under each city's scope (``_FILL``, a DO block): the test databases migrate
with no tenant, and PL/pgSQL checks a statement's columns only when it runs, so only a
database with stored days runs it. One is migrated to 0010 and given the daily
department rows of two cities over two months (as the worker writes them:
``aggregates._INSERT_DEPARTMENTS``, a day a transaction); 0011 and 0012 then run as the
superuser and as a production owner without BYPASSRLS (the new table forces row
security on its owner too). The filled rows are those the worker's own roll-up
(``aggregates._ROLL_MONTHS``) writes for the same days, and the dashboard takes them as
current (``dashboard._CURRENT_MONTHS``): a read of those months uses the monthly rows."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import asyncpg

from hotline.tenants.statistics import aggregates, dashboard
from hotline.tenants.statistics.metrics import COUNTS, SUMMED, Totals
from tests.upgrade.test_month_conversions import (
    NOW,
    Before,
    _insert,
    _month,
    databases_before,
)

BEFORE = ("platform.0003_month_partitions", "statistics.0010_drop_old_partition_functions")
AFTER = ("statistics.0011_monthly_departments", "statistics.0012_overdue_now_index")
MONTHS = (_month(NOW.date(), -3), _month(NOW.date(), -2))  # ended in every time zone


before = databases_before("hotline_fill", BEFORE)


def _day_row(seed: int) -> list[Any]:
    """A day's figures of one department, all different (the product's column order)."""
    totals = Totals()
    for i, column in enumerate(COUNTS):
        setattr(totals, column, seed + i)
    totals.sign_seconds_sum = 600 * seed
    totals.reply_seconds_sum = 3_600 * seed
    totals.received_by = {"channel:phone": seed, f"category:{seed % 3}": 1}
    totals.sign_hist = {str(seed % 4): 1, "9": seed}
    totals.reply_hist = {"2": seed}
    return aggregates._figures(totals)


async def test_0011_fills_the_stored_months_as_the_worker_rolls_them(
    before: Before,
) -> None:
    async with before.superuser() as conn:
        province = await _insert(conn, "provinces", code="370000", slug="sd", name="山东省")
        cities: dict[int, list[int | None]] = {}
        for code, slug in (("370100", "a"), ("370200", "b")):
            city = await _insert(
                conn, "tenants", province_id=province, code=code, slug=slug, name=slug
            )
            departments: list[int | None] = [None]  # the center
            for n in range(2):
                made = await _insert(
                    conn, "departments", tenant_id=city, province_id=province,
                    name=f"{slug}{n}", path=f"/{slug}{n}/",
                )  # fmt: skip
                departments.append(made)
            cities[city] = departments
        seed = 0
        for city, departments in cities.items():
            for month in MONTHS:
                last = aggregates.month_end(month)
                for day in (month, month + timedelta(days=14), last):
                    rows = []
                    for department in departments:
                        seed += 1
                        rows.append([city, province, NOW, day, department, *_day_row(seed)])
                    async with conn.transaction():  # a day a transaction: its own xmin
                        await conn.executemany(aggregates._INSERT_DEPARTMENTS, rows)
        # days of another month, in one city only, and none of the month rows' business
        await conn.executemany(
            aggregates._INSERT_DEPARTMENTS,
            [[city, province, NOW, _month(NOW.date(), -5), None, *_day_row(99)]],
        )

        for target in AFTER:
            await before.migrate(target)

        columns = "tenant_id, province_id, month, department_id, days, written, " + ", ".join(
            (*SUMMED, *aggregates._MAPS)
        )
        read = (
            f"SELECT {columns} FROM stats_monthly_departments"  # noqa: S608
            " ORDER BY tenant_id, month, department_id NULLS FIRST"
        )
        filled = [dict(r) for r in await conn.fetch(read)]
        assert len(filled) == 2 * 2 * 3 + 1  # cities × months × departments, and b's old month
        tr = conn.transaction()
        await tr.start()
        try:  # the worker's roll-up of the same days, in place of the filled rows
            await conn.execute("DELETE FROM stats_monthly_departments")
            for city in cities:
                await conn.execute(
                    aggregates._ROLL_MONTHS,
                    city,
                    date(2000, 1, 1),
                    NOW.date(),
                    province,
                    NOW,
                )
            rolled = [dict(r) for r in await conn.fetch(read)]
        finally:
            await tr.rollback()
        assert filled == rolled
        # the version: the month's daily rows (3 days × 3 departments)
        assert {r["days"] for r in filled if r["month"] in MONTHS} == {9}

        # the dashboard takes the filled rows as current: those months are read from them
        reader = await asyncpg.connect(before.owner_url)  # the owner: scoped
        try:
            await reader.execute(
                "SELECT set_config('app.scope', 'province', false),"
                f" set_config('app.province_id', '{province}', false)"
            )
            pairs = [(city, month) for city in cities for month in MONTHS]
            current = await reader.fetch(
                dashboard._CURRENT_MONTHS, [c for c, _ in pairs], [m for _, m in pairs]
            )
        finally:
            await reader.close()
        assert sorted((r["tenant_id"], r["month"]) for r in current) == sorted(pairs)
