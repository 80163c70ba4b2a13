# ruff: noqa  (a migration is history: frozen literals, excluded from lint)
"""Routing rules, trained classifier versions and per-ticket suggestions, with their
tenancy (RLS, same-city keys). Frozen as literals: nothing of the live domain is imported."""

import enum
import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from hotline.platform.db.rls import enable_tenant_rls, same_tenant_fk

TABLES = ("routing_rules", "routing_model_versions", "routing_suggestions")

SQL = [
    *[
        f'ALTER TABLE "{t}" ADD CONSTRAINT "{t}_tenant_fk" FOREIGN KEY (tenant_id) '
        'REFERENCES "tenants" (id) ON DELETE RESTRICT'
        for t in TABLES
    ],
    *[sql for t in TABLES for sql in enable_tenant_rls(t)],
    same_tenant_fk("routing_rules", "area_id", "departments"),
    same_tenant_fk("routing_rules", "category_id", "categories"),
    same_tenant_fk("routing_rules", "department_id", "departments"),
    same_tenant_fk("routing_suggestions", "ticket_id", "tickets", on_delete="CASCADE"),
]


class Migration(migrations.Migration):
    dependencies = [('departments', '0001_initial'), ('categories', '0001_initial'), ('tickets', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='RoutingRule',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('tenant_id', fields.BigIntField(db_index=True)),
                ('province_id', fields.BigIntField()),
                ('name', fields.CharField(max_length=100)),
                ('priority', fields.IntField(default=100)),
                ('area', fields.ForeignKeyField('departments.Department', source_field='area_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('category', fields.ForeignKeyField('categories.Category', source_field='category_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('keywords', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('department', fields.ForeignKeyField('departments.Department', source_field='department_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('is_active', fields.BooleanField(default=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'routing_rules', 'app': 'routing', 'pk_attr': 'id'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name="RoutingModelVersion",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("tenant_id", fields.BigIntField(db_index=True)),
                ("province_id", fields.BigIntField()),
                ("version", fields.IntField()),
                ("algorithm", fields.CharField(max_length=80)),
                ("samples", fields.IntField()),
                ("train_size", fields.IntField()),
                ("test_size", fields.IntField()),
                ("top1_accuracy", fields.FloatField()),
                ("top3_accuracy", fields.FloatField()),
                (
                    "labels",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("blob", fields.BinaryField()),
                ("is_active", fields.BooleanField(default=True)),
            ],
            options={
                "table": "routing_model_versions",
                "app": "routing",
                "unique_together": (("tenant_id", "version"),),
                "pk_attr": "id",
            },
            bases=["TenantModel"],
        ),
        ops.CreateModel(
            name="RoutingSuggestion",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("tenant_id", fields.BigIntField(db_index=True)),
                ("province_id", fields.BigIntField()),
                ("ticket_id", fields.BigIntField()),
                ("source", fields.CharField(max_length=10)),
                ("department_id", fields.BigIntField(null=True)),
                ("confidence", fields.FloatField(null=True)),
                (
                    "suggestions",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("model_version", fields.IntField(null=True)),
                ("auto_dispatch", fields.BooleanField(default=False)),
            ],
            options={
                "table": "routing_suggestions",
                "app": "routing",
                "unique_together": (("tenant_id", "ticket_id"),),
                "pk_attr": "id",
                "table_description": "What routing said about one ticket: a rule's department, or the model's top 3.",
            },
            bases=["TenantModel"],
        ),
        ops.RunSQL(SQL),
    ]
