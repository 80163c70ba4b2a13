# ruff: noqa
"""Call records pushed by the call center's CTI system (one per city and call id) and
export jobs; their tenancy (RLS, same-city keys) and indexes. Frozen as literals."""

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

_TABLES = ("call_records", "export_jobs")


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
    'ALTER TABLE "call_records" ADD CONSTRAINT "call_records_ticket_id_same_tenant" '
    'FOREIGN KEY (tenant_id, "ticket_id") REFERENCES "tickets" (tenant_id, id) '
    "ON DELETE RESTRICT",
    'CREATE INDEX "call_records_day" ON "call_records" (tenant_id, day)',
    'CREATE INDEX "call_records_province_day" ON "call_records" (province_id, day)',
    'CREATE INDEX "export_jobs_requested" ON "export_jobs" (tenant_id, requested_by, id)',
]

_ENCODER = functools.partial(dumps, separators=(",", ":"))


def _base() -> list[Any]:
    return [
        ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
        ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
        ("tenant_id", fields.BigIntField(db_index=True)),
        ("province_id", fields.BigIntField()),
    ]


class Migration(migrations.Migration):
    dependencies = [("statistics", "0001_initial")]

    operations = [
        ops.CreateModel(
            name="CallRecord",
            fields=[
                *_base(),
                ("call_id", fields.CharField(max_length=100)),
                ("day", fields.DateField()),
                ("started_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("answered_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("ended_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("queue", fields.CharField(max_length=64)),
                ("seat", fields.CharField(max_length=64, null=True)),
                ("seat_group", fields.CharField(max_length=64, null=True)),
                ("outcome", fields.CharField(max_length=10)),
                ("caller_phone_enc", fields.TextField(null=True)),
                ("caller_phone_hash", fields.CharField(max_length=64, null=True)),
                ("ticket_number", fields.CharField(max_length=40, null=True)),
                ("ticket_id", fields.BigIntField(null=True)),
                ("digest", fields.CharField(max_length=64)),
                ("updated_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "call_records",
                "app": "statistics",
                "unique_together": (("tenant_id", "call_id"),),
                "pk_attr": "id",
                "table_description": "One call of the city's call center, as its CTI system pushed it (idempotent by",
            },
            bases=["TenantModel"],
        ),
        ops.CreateModel(
            name="ExportJob",
            fields=[
                *_base(),
                ("requested_by", fields.BigIntField(null=True)),
                ("kind", fields.CharField(max_length=20)),
                ("format", fields.CharField(max_length=4)),
                ("params", fields.JSONField(default=dict, encoder=_ENCODER, decoder=loads)),
                ("status", fields.CharField(max_length=10, default="queued")),
                ("rows_total", fields.IntField(null=True)),
                ("rows_done", fields.IntField(default=0)),
                ("object_key", fields.CharField(max_length=300, null=True)),
                ("error", fields.TextField(null=True)),
                ("finished_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("expires_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "export_jobs",
                "app": "statistics",
                "pk_attr": "id",
                "table_description": "An export of a ticket list or a report, written by a worker into the object store.",
            },
            bases=["TenantModel"],
        ),
        ops.RunSQL(SQL),
    ]
