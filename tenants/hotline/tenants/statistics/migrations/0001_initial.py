# ruff: noqa
"""The daily aggregates (per department × category × channel, and per department), the dirty days and the days each ticket counted in; their
tenancy (RLS, same-city keys) and indexes. Frozen as literals: no live model or helper
is imported (a migration is history)."""

import functools
from typing import Any
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

_CITY_OR_PROVINCE = (
    "((current_setting('app.scope', true) = 'city' AND tenant_id = "
    "NULLIF(current_setting('app.tenant_id', true), '')::bigint) OR "
    "(current_setting('app.scope', true) = 'province' AND province_id = "
    "NULLIF(current_setting('app.province_id', true), '')::bigint))"
)

_TABLES = ("stats_daily", "stats_daily_departments", "stats_dirty_days", "stats_ticket_days")


def _tenancy(t: str) -> list[str]:
    return [
        f'ALTER TABLE "{t}" ADD CONSTRAINT "{t}_tenant_fk" FOREIGN KEY (tenant_id) '
        'REFERENCES "tenants" (id) ON DELETE RESTRICT',
        f'ALTER TABLE "{t}" ADD CONSTRAINT "{t}_tenant_id_id_key" UNIQUE (tenant_id, id)',
        f'ALTER TABLE "{t}" ENABLE ROW LEVEL SECURITY',
        f'ALTER TABLE "{t}" FORCE ROW LEVEL SECURITY',
        f'CREATE POLICY "{t}_read" ON "{t}" FOR SELECT USING {_CITY_OR_PROVINCE}',
        f'CREATE POLICY "{t}_insert" ON "{t}" FOR INSERT WITH CHECK {_CITY_OR_PROVINCE}',
        f'CREATE POLICY "{t}_update" ON "{t}" FOR UPDATE USING {_CITY_OR_PROVINCE}'
        f" WITH CHECK {_CITY_OR_PROVINCE}",
        f'CREATE POLICY "{t}_delete" ON "{t}" FOR DELETE USING {_CITY_OR_PROVINCE}',
    ]


SQL = [
    *[sql for t in _TABLES for sql in _tenancy(t)],
    'ALTER TABLE "stats_daily" ADD CONSTRAINT "stats_daily_department_id_same_tenant" '
    'FOREIGN KEY (tenant_id, "department_id") REFERENCES "departments" (tenant_id, id) '
    "ON DELETE RESTRICT",
    'ALTER TABLE "stats_daily_departments" ADD CONSTRAINT '
    '"stats_daily_departments_department_id_same_tenant" '
    'FOREIGN KEY (tenant_id, "department_id") REFERENCES "departments" (tenant_id, id) '
    "ON DELETE RESTRICT",
    'ALTER TABLE "stats_daily" ADD CONSTRAINT "stats_daily_category_id_same_tenant" '
    'FOREIGN KEY (tenant_id, "category_id") REFERENCES "categories" (tenant_id, id) '
    "ON DELETE RESTRICT",
    'ALTER TABLE "stats_ticket_days" ADD CONSTRAINT "stats_ticket_days_ticket_id_same_tenant" '
    'FOREIGN KEY (tenant_id, "ticket_id") REFERENCES "tickets" (tenant_id, id) '
    "ON DELETE CASCADE",
    # One row per city × day × department × category × channel (NULL = the center / none).
    'CREATE UNIQUE INDEX "stats_daily_key" ON "stats_daily" '
    "(tenant_id, day, department_id, category_id, channel) NULLS NOT DISTINCT",
    'CREATE INDEX "stats_daily_province_day" ON "stats_daily" (province_id, day)',
    'CREATE UNIQUE INDEX "stats_daily_departments_key" ON "stats_daily_departments" '
    "(tenant_id, day, department_id) NULLS NOT DISTINCT",
    # The facts the recompute reads by moment (received_at has tickets_received already).
    'CREATE INDEX IF NOT EXISTS "stats_tickets_closed" ON "tickets" (tenant_id, closed_at)',
    'CREATE INDEX IF NOT EXISTS "stats_assignments_signed" ON "assignments" (tenant_id, signed_at)',
    'CREATE INDEX IF NOT EXISTS "stats_assignments_replied" ON "assignments" (tenant_id, replied_at)',
    'CREATE INDEX IF NOT EXISTS "stats_assignments_created" ON "assignments" (tenant_id, created_at)',
    'CREATE INDEX IF NOT EXISTS "stats_assignments_deadline" ON "assignments" (tenant_id, reply_deadline)',
]

_ENCODER = functools.partial(dumps, separators=(",", ":"))
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


def _base() -> list[Any]:
    return [
        ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
        ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
        ("tenant_id", fields.BigIntField(db_index=True)),
        ("province_id", fields.BigIntField()),
    ]


def _figures() -> list[Any]:
    return [
        *_base(),
        ("day", fields.DateField()),
        ("department_id", fields.BigIntField(null=True)),
        ("received", fields.IntField(default=0)),
        ("received_by", fields.JSONField(default=dict, encoder=_ENCODER, decoder=loads)),
        *[(c, fields.IntField(default=0)) for c in _COUNTS[1:4]],
        ("signed_on_time", fields.IntField(default=0)),
        ("sign_seconds", fields.JSONField(default=list, encoder=_ENCODER, decoder=loads)),
        ("replied", fields.IntField(default=0)),
        ("replied_on_time", fields.IntField(default=0)),
        ("reply_seconds", fields.JSONField(default=list, encoder=_ENCODER, decoder=loads)),
        *[(c, fields.IntField(default=0)) for c in _COUNTS[7:]],
    ]


class Migration(migrations.Migration):
    dependencies = [("departments", "0001_initial"), ("categories", "0001_initial"), ("tickets", "0001_initial")]

    initial = True

    operations = [
        ops.CreateModel(
            name="DailyStat",
            fields=[
                *_figures(),
                ("category_id", fields.BigIntField(null=True)),
                ("channel", fields.CharField(max_length=10)),
            ],
            options={
                "table": "stats_daily",
                "app": "statistics",
                "pk_attr": "id",
                "table_description": "One city × department × category × channel × city-local day of figures.",
            },
            bases=["Figures"],
        ),
        ops.CreateModel(
            name="DepartmentDay",
            fields=_figures(),
            options={
                "table": "stats_daily_departments",
                "app": "statistics",
                "pk_attr": "id",
                "table_description": "The same day summed per department (``received_by`` also counts channel:… and",
            },
            bases=["Figures"],
        ),
        ops.CreateModel(
            name="DirtyDay",
            fields=[
                *_base(),
                ("day", fields.DateField()),
                ("marked_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "stats_dirty_days",
                "app": "statistics",
                "unique_together": (("tenant_id", "day"),),
                "pk_attr": "id",
                "table_description": "A day a ticket change touched, waiting for the worker.",
            },
            bases=["TenantModel"],
        ),
        ops.CreateModel(
            name="TicketDays",
            fields=[
                *_base(),
                ("ticket_id", fields.BigIntField()),
                ("days", fields.JSONField(default=list, encoder=_ENCODER, decoder=loads)),
            ],
            options={
                "table": "stats_ticket_days",
                "app": "statistics",
                "unique_together": (("tenant_id", "ticket_id"),),
                "pk_attr": "id",
                "table_description": "The city-local days a ticket counted in at its last change.",
            },
            bases=["TenantModel"],
        ),
        ops.RunSQL(SQL),
    ]
