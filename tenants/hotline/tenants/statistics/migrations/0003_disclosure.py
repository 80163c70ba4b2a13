# ruff: noqa
"""Published monthly figures and anonymized published cases; their tenancy (RLS,
same-city keys). Frozen as literals."""

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

_TABLES = ("published_months", "published_cases")


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
    'ALTER TABLE "published_cases" ADD CONSTRAINT "published_cases_ticket_id_same_tenant" '
    'FOREIGN KEY (tenant_id, "ticket_id") REFERENCES "tickets" (tenant_id, id) '
    "ON DELETE CASCADE",
    'CREATE INDEX "published_cases_month" ON "published_cases" (tenant_id, month DESC, id DESC)',
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
    dependencies = [("statistics", "0002_calls_exports")]

    operations = [
        ops.CreateModel(
            name="PublishedMonth",
            fields=[
                *_base(),
                ("month", fields.DateField()),
                ("figures", fields.JSONField(default=dict, encoder=_ENCODER, decoder=loads)),
                ("published_by", fields.BigIntField(null=True)),
                ("published_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "published_months",
                "app": "statistics",
                "unique_together": (("tenant_id", "month"),),
                "pk_attr": "id",
                "table_description": "A month's figures as the city published them (what the public sees stays what",
            },
            bases=["TenantModel"],
        ),
        ops.CreateModel(
            name="PublishedCase",
            fields=[
                *_base(),
                ("ticket_id", fields.BigIntField()),
                ("month", fields.DateField()),
                ("category", fields.CharField(max_length=200, default="")),
                ("kind", fields.CharField(max_length=12)),
                ("title", fields.CharField(max_length=200, default="")),
                ("content", fields.TextField()),
                ("reply", fields.TextField(default="")),
                ("published_by", fields.BigIntField(null=True)),
                ("published_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "published_cases",
                "app": "statistics",
                "unique_together": (("tenant_id", "ticket_id"),),
                "pk_attr": "id",
                "table_description": "A closed case published anonymized: redacted text only, no link to the citizen.",
            },
            bases=["TenantModel"],
        ),
        ops.RunSQL(SQL),
    ]
