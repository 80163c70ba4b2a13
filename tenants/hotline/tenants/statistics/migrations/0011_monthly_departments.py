# ruff: noqa  (a migration is history: frozen literals, excluded from lint)
"""A calendar month's stored days summed per department (docs/statistics.md, "Monthly
rows"): ``stats_monthly_departments``, one row per city × month × department (NULL = the
center), the same figure columns as ``stats_daily_departments`` plus the version of the
daily rows it sums (``days``: how many, ``written``: the sum of their ``xmin``). The
worker writes a month's rows in the transaction that writes any of its days; a month's
dashboard and the province roll-up read 21 rows a city instead of 31 × 21, and only while
the daily rows still have the version the month row carries (a day written by the
previous release during the roll-out, which knows nothing of this table, changes the
version: the reader falls back to the days). Tenancy as every statistics table (RLS,
same-city keys). The rows of the months already stored are filled here, city by city
under each city's scope (the table forces row-level security), by the same statement the
worker runs. Frozen literals."""

import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

_ENCODER = functools.partial(dumps, separators=(",", ":"))
_CITY_OR_PROVINCE = (
    "((current_setting('app.scope', true) = 'city' AND tenant_id = "
    "NULLIF(current_setting('app.tenant_id', true), '')::bigint) OR "
    "(current_setting('app.scope', true) = 'province' AND province_id = "
    "NULLIF(current_setting('app.province_id', true), '')::bigint))"
)
_T = "stats_monthly_departments"
_COUNTS = (
    "received",
    "direct_answered",
    "dispatched",
    "signed",
    "signed_on_time",
    "replied",
    "replied_on_time",
    "overdue",
    "returned",
    "extended",
    "reopened",
    "merged",
    "cancelled",
    "closed",
    "revisit_calls",
    "revisit_reached",
    "satisfied",
    "basically_satisfied",
    "unsatisfied",
    "unreachable",
    "cohort_valid",
    "cohort_handled",
    "cohort_completed",
)
_SECONDS = ("sign_seconds_sum", "reply_seconds_sum")
_MAPS = ("received_by", "sign_hist", "reply_hist")


def _roll(tenant: str, province: str, first: str, last: str, now: str) -> str:
    """The months of [first, last] of one city summed per department from its daily
    rows, with their version (the worker's statement, aggregates.py)."""
    sums = ", ".join(
        [*(f"sum({c})::int AS {c}" for c in _COUNTS), *(f"sum({c})::bigint AS {c}" for c in _SECONDS)]
    )
    exploded = " UNION ALL ".join(
        f"SELECT '{m}', key, value::int FROM jsonb_each_text(d.{m})" for m in _MAPS
    )
    maps = ", ".join(
        f"coalesce(jsonb_object_agg(key, n) FILTER (WHERE map = '{m}'), '{{}}'::jsonb) AS {m}"
        for m in _MAPS
    )
    columns = ", ".join((*_COUNTS, *_SECONDS, *_MAPS))
    values = ", ".join(
        (*(f"g.{c}" for c in (*_COUNTS, *_SECONDS)), *(f"coalesce(j.{m}, '{{}}'::jsonb)" for m in _MAPS))
    )
    return f"""
WITH d AS (
  SELECT s.*, s.xmin::text::bigint AS xid, date_trunc('month', s.day)::date AS month
  FROM stats_daily_departments s WHERE s.tenant_id = {tenant} AND s.day >= {first} AND s.day <= {last}),
v AS (SELECT month, count(*)::int AS days, sum(xid)::bigint AS written FROM d GROUP BY 1),
e AS (SELECT d.month, d.department_id, x.map, x.key, sum(x.n)::int AS n
      FROM d CROSS JOIN LATERAL ({exploded}) AS x(map, key, n) GROUP BY 1, 2, 3, 4),
j AS (SELECT month, department_id, {maps} FROM e GROUP BY 1, 2),
g AS (SELECT month, department_id, {sums} FROM d GROUP BY 1, 2)
INSERT INTO {_T} (tenant_id, province_id, created_at, month, department_id, days, written, {columns})
SELECT {tenant}, {province}, {now}, g.month, g.department_id, v.days, v.written, {values}
FROM g JOIN v ON v.month = g.month
LEFT JOIN j ON j.month = g.month AND j.department_id IS NOT DISTINCT FROM g.department_id"""


_FILL = f"""
DO $do$
DECLARE
    city record;
BEGIN
    FOR city IN SELECT id, province_id FROM tenants ORDER BY id LOOP
        PERFORM set_config('app.scope', 'city', true);
        PERFORM set_config('app.tenant_id', city.id::text, true);
        {_roll("city.id", "city.province_id", "'-infinity'::date", "'infinity'::date", "now()")};
    END LOOP;
    PERFORM set_config('app.scope', '', true);
    PERFORM set_config('app.tenant_id', '', true);
END
$do$"""

SQL = [
    f'ALTER TABLE "{_T}" ADD CONSTRAINT "{_T}_tenant_fk" FOREIGN KEY (tenant_id) '
    'REFERENCES "tenants" (id) ON DELETE RESTRICT',
    f'ALTER TABLE "{_T}" ADD CONSTRAINT "{_T}_tenant_id_id_key" UNIQUE (tenant_id, id)',
    f'ALTER TABLE "{_T}" ENABLE ROW LEVEL SECURITY',
    f'ALTER TABLE "{_T}" FORCE ROW LEVEL SECURITY',
    f'CREATE POLICY "{_T}_read" ON "{_T}" FOR SELECT USING {_CITY_OR_PROVINCE}',
    f'CREATE POLICY "{_T}_insert" ON "{_T}" FOR INSERT WITH CHECK {_CITY_OR_PROVINCE}',
    f'CREATE POLICY "{_T}_update" ON "{_T}" FOR UPDATE USING {_CITY_OR_PROVINCE}'
    f" WITH CHECK {_CITY_OR_PROVINCE}",
    f'CREATE POLICY "{_T}_delete" ON "{_T}" FOR DELETE USING {_CITY_OR_PROVINCE}',
    f'ALTER TABLE "{_T}" ADD CONSTRAINT "{_T}_department_id_same_tenant" '
    'FOREIGN KEY (tenant_id, "department_id") REFERENCES "departments" (tenant_id, id) '
    "ON DELETE RESTRICT",
    # One row per city × month × department (NULL = the center).
    f'CREATE UNIQUE INDEX "{_T}_key" ON "{_T}" (tenant_id, month, department_id) NULLS NOT DISTINCT',
    _FILL,
]


def _json() -> fields.JSONField:  # type: ignore[type-arg]
    return fields.JSONField(default=dict, encoder=_ENCODER, decoder=loads)


class Migration(migrations.Migration):
    dependencies = [("statistics", "0010_drop_old_partition_functions")]

    initial = False

    operations = [
        ops.CreateModel(
            name="DepartmentMonth",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("tenant_id", fields.BigIntField(db_index=True)),
                ("province_id", fields.BigIntField()),
                ("department_id", fields.BigIntField(null=True)),
                ("received", fields.IntField(default=0)),
                ("received_by", _json()),
                *[(c, fields.IntField(default=0)) for c in _COUNTS[1:5]],
                ("sign_seconds_sum", fields.BigIntField(default=0, db_default=0)),
                ("sign_hist", fields.JSONField(default=dict, db_default={}, encoder=_ENCODER, decoder=loads)),
                ("replied", fields.IntField(default=0)),
                ("replied_on_time", fields.IntField(default=0)),
                ("reply_seconds_sum", fields.BigIntField(default=0, db_default=0)),
                ("reply_hist", fields.JSONField(default=dict, db_default={}, encoder=_ENCODER, decoder=loads)),
                *[(c, fields.IntField(default=0)) for c in _COUNTS[7:]],
                ("month", fields.DateField()),
                ("days", fields.IntField()),
                ("written", fields.BigIntField()),
            ],
            options={
                "table": _T,
                "app": "statistics",
                "pk_attr": "id",
                "table_description": "A calendar month's stored days summed per department, written in the transaction",
            },
            bases=["Sums"],
        ),
        ops.RunSQL(SQL),
    ]
