# ruff: noqa  (a migration is history: frozen literals, excluded from lint)
"""The function catalogue's mirror, the gazetteer (city rows, RLS, same-city key to the
unit) and the province routing models (province rows: a city reads its province's,
only the province scope writes). Frozen as literals."""

import functools
from typing import Any
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

_SCOPE = "current_setting('app.scope', true)"
_TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::bigint"
_PROVINCE = "NULLIF(current_setting('app.province_id', true), '')::bigint"
_CITY_OR_PROVINCE = (
    f"(({_SCOPE} = 'city' AND tenant_id = {_TENANT})"
    f" OR ({_SCOPE} = 'province' AND province_id = {_PROVINCE}))"
)
_IN_PROVINCE = f"({_SCOPE} IN ('city', 'province') AND province_id = {_PROVINCE})"
_AS_PROVINCE = f"({_SCOPE} = 'province' AND province_id = {_PROVINCE})"
_G = "gazetteer_places"
_P = "routing_province_models"

SQL = [
    f'ALTER TABLE "{_G}" ADD CONSTRAINT "{_G}_tenant_fk" FOREIGN KEY (tenant_id) '
    'REFERENCES "tenants" (id) ON DELETE RESTRICT',
    f'ALTER TABLE "{_G}" ADD CONSTRAINT "{_G}_tenant_id_id_key" UNIQUE (tenant_id, id)',
    f'ALTER TABLE "{_G}" ENABLE ROW LEVEL SECURITY',
    f'ALTER TABLE "{_G}" FORCE ROW LEVEL SECURITY',
    f'CREATE POLICY "{_G}_read" ON "{_G}" FOR SELECT USING {_CITY_OR_PROVINCE}',
    f'CREATE POLICY "{_G}_insert" ON "{_G}" FOR INSERT WITH CHECK {_CITY_OR_PROVINCE}',
    f'CREATE POLICY "{_G}_update" ON "{_G}" FOR UPDATE USING {_CITY_OR_PROVINCE} '
    f"WITH CHECK {_CITY_OR_PROVINCE}",
    f'CREATE POLICY "{_G}_delete" ON "{_G}" FOR DELETE USING {_CITY_OR_PROVINCE}',
    f'ALTER TABLE "{_G}" ADD CONSTRAINT "{_G}_department_id_same_tenant" '
    f'FOREIGN KEY (tenant_id, "department_id") REFERENCES "departments" (tenant_id, id) '
    "ON DELETE CASCADE",
    f'ALTER TABLE "{_P}" ADD CONSTRAINT "{_P}_province_fk" FOREIGN KEY (province_id) '
    'REFERENCES "provinces" (id) ON DELETE CASCADE',
    f'ALTER TABLE "{_P}" ENABLE ROW LEVEL SECURITY',
    f'ALTER TABLE "{_P}" FORCE ROW LEVEL SECURITY',
    f'CREATE POLICY "{_P}_read" ON "{_P}" FOR SELECT USING {_IN_PROVINCE}',
    f'CREATE POLICY "{_P}_insert" ON "{_P}" FOR INSERT WITH CHECK {_AS_PROVINCE}',
    f'CREATE POLICY "{_P}_update" ON "{_P}" FOR UPDATE USING {_AS_PROVINCE} '
    f"WITH CHECK {_AS_PROVINCE}",
    f'CREATE POLICY "{_P}_delete" ON "{_P}" FOR DELETE USING {_AS_PROVINCE}',
]

_ENCODER = functools.partial(dumps, separators=(",", ":"))


def _id() -> tuple[str, Any]:
    return ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True))


def _created() -> tuple[str, Any]:
    return ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True))


class Migration(migrations.Migration):
    dependencies = [("routing", "0001_initial"), ("departments", "0002_department_function")]

    initial = False

    operations = [
        ops.CreateModel(
            name="RoutingFunction",
            fields=[
                _id(),
                _created(),
                ("code", fields.CharField(unique=True, max_length=40)),
                ("name", fields.CharField(max_length=100)),
                ("dispatch", fields.CharField(max_length=10)),
                ("duties", fields.TextField()),
                ("keywords", fields.JSONField(default=list, encoder=_ENCODER, decoder=loads)),
                ("routable", fields.BooleanField(default=True)),
            ],
            options={
                "table": "routing_functions",
                "app": "routing",
                "pk_attr": "id",
                "table_description": "One function of the catalogue (departments/functions.json), mirrored for the API.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="GazetteerPlace",
            fields=[
                _id(),
                _created(),
                ("tenant_id", fields.BigIntField(db_index=True)),
                ("province_id", fields.BigIntField()),
                ("name", fields.CharField(max_length=100)),
                ("kind", fields.CharField(max_length=12)),
                ("aliases", fields.JSONField(default=list, encoder=_ENCODER, decoder=loads)),
                ("department_id", fields.BigIntField()),
                ("updated_at", fields.DatetimeField(auto_now=True)),
            ],
            options={
                "table": "gazetteer_places",
                "app": "routing",
                "unique_together": (("tenant_id", "name", "department_id"),),
                "pk_attr": "id",
                "table_description": "A name in the city's gazetteer and the administrative unit (a department of the",
            },
            bases=["TenantModel"],
        ),
        ops.CreateModel(
            name="ProvinceRoutingModel",
            fields=[
                _id(),
                _created(),
                ("province_id", fields.BigIntField(db_index=True)),
                ("version", fields.IntField()),
                ("algorithm", fields.CharField(max_length=80)),
                ("samples", fields.IntField()),
                ("metrics", fields.JSONField(default=dict, encoder=_ENCODER, decoder=loads)),
                ("blob", fields.BinaryField()),
            ],
            options={
                "table": "routing_province_models",
                "app": "routing",
                "unique_together": (("province_id", "version"),),
                "pk_attr": "id",
                "table_description": "A province-wide function classifier (every city's history + the shipped corpus +",
            },
            bases=["Model"],
        ),
        ops.RunSQL(SQL),
    ]
