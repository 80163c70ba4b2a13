# ruff: noqa  (a migration is history: frozen literals, excluded from lint)
"""Provinces, their cities (the unit of tenancy) and the working calendar: tables, the
calendar's row-level security (a city's rows plus its province's shared ones).
Frozen as literals: nothing of the live domain is imported (a migration is history)."""

import enum
import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from hotline.platform.db.rls import CITY_OR_PROVINCE, province_shared_rows


def default_locales() -> list[str]:
    return ["zh-CN", "en"]


class RestDayStart(enum.StrEnum):
    OFFICIAL = "official"
    NEXT_WORKING_DAY = "next_working_day"


SQL = [
    'ALTER TABLE "calendar_entries" ADD CONSTRAINT "calendar_entries_province_fk" '
    'FOREIGN KEY (province_id) REFERENCES "provinces" (id) ON DELETE CASCADE',
    'ALTER TABLE "calendar_entries" ADD CONSTRAINT "calendar_entries_tenant_fk" '
    'FOREIGN KEY (tenant_id) REFERENCES "tenants" (id) ON DELETE CASCADE',
    'CREATE UNIQUE INDEX "calendar_entries_day" ON "calendar_entries" '
    "(province_id, tenant_id, day) NULLS NOT DISTINCT",
    'ALTER TABLE "calendar_entries" ENABLE ROW LEVEL SECURITY',
    'ALTER TABLE "calendar_entries" FORCE ROW LEVEL SECURITY',
    f'CREATE POLICY "calendar_entries_read" ON "calendar_entries" FOR SELECT '
    f"USING ({CITY_OR_PROVINCE} OR {province_shared_rows()})",
    f'CREATE POLICY "calendar_entries_write" ON "calendar_entries" FOR ALL '
    f"USING ({CITY_OR_PROVINCE} OR (current_setting('app.scope', true) = 'province' "
    f"AND {province_shared_rows()})) "
    f"WITH CHECK ({CITY_OR_PROVINCE} OR (current_setting('app.scope', true) = 'province' "
    f"AND {province_shared_rows()}))",
    'ALTER TABLE "calendar_years" ADD CONSTRAINT "calendar_years_province_fk" '
    'FOREIGN KEY (province_id) REFERENCES "provinces" (id) ON DELETE CASCADE',
]


class Migration(migrations.Migration):
    dependencies = []

    initial = True

    operations = [
        ops.CreateModel(
            name='Province',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('code', fields.CharField(unique=True, max_length=6)),
                ('slug', fields.CharField(unique=True, max_length=40)),
                ('name', fields.CharField(max_length=100)),
                ('timezone', fields.CharField(default='Asia/Shanghai', max_length=64)),
                ('locales', fields.JSONField(default=default_locales, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('sla_defaults', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('working_hours', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('oidc', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'provinces', 'app': 'provinces', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Tenant',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('province', fields.ForeignKeyField('provinces.Province', source_field='province_id', db_constraint=True, to_field='id', related_name='tenants', on_delete=OnDelete.RESTRICT)),
                ('code', fields.CharField(unique=True, max_length=6)),
                ('slug', fields.CharField(unique=True, max_length=40)),
                ('name', fields.CharField(max_length=100)),
                ('number_prefix', fields.CharField(max_length=4)),
                ('timezone', fields.CharField(default='Asia/Shanghai', max_length=64)),
                ('locales', fields.JSONField(default=default_locales, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('sla_overrides', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('working_hours', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('features', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('is_active', fields.BooleanField(default=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('settings', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('rest_day_start', fields.CharEnumField(RestDayStart, max_length=20, default=RestDayStart.OFFICIAL, db_default=RestDayStart.OFFICIAL, description='OFFICIAL: official\nNEXT_WORKING_DAY: next_working_day')),
            ],
            options={'table': 'tenants', 'app': 'provinces', 'pk_attr': 'id', 'table_description': 'A city: the unit of tenancy.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CalendarEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('province_id', fields.BigIntField()),
                ('tenant_id', fields.BigIntField(null=True)),
                ('day', fields.DateField()),
                ('kind', fields.CharField(max_length=10)),
                ('name', fields.CharField(default='', max_length=100)),
            ],
            options={'table': 'calendar_entries', 'app': 'provinces', 'pk_attr': 'id', 'table_description': 'A dated exception to the weekly hours: a holiday or a make-up workday.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name="CalendarYear",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("province_id", fields.BigIntField()),
                ("year", fields.SmallIntField()),
                ("source", fields.CharField(default="import", max_length=20)),
                ("holidays", fields.SmallIntField(default=0)),
                ("workdays", fields.SmallIntField(default=0)),
                ("published_by_id", fields.BigIntField(null=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "calendar_years",
                "app": "provinces",
                "unique_together": (("province_id", "year"),),
                "pk_attr": "id",
                "table_description": (
                    "A year whose official holiday arrangement a province has published"
                    " (imported)."
                ),
            },
            bases=["Model"],
        ),
        ops.RunSQL(SQL),
    ]
