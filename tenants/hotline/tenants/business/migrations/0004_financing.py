# ruff: noqa
"""Financing: banks' products, an enterprise's financing need (beside its business
request) and its applications with their outcomes; their tenancy (RLS, same-city keys)
and indexes. Frozen as literals: no live model or helper is imported (a migration is
history)."""

import enum
import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class ProductStatus(enum.StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"


class ApplicationStatus(enum.StrEnum):
    APPLIED = "applied"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


_CITY_OR_PROVINCE = (
    "((current_setting('app.scope', true) = 'city' AND tenant_id = "
    "NULLIF(current_setting('app.tenant_id', true), '')::bigint) OR "
    "(current_setting('app.scope', true) = 'province' AND province_id = "
    "NULLIF(current_setting('app.province_id', true), '')::bigint))"
)

_TABLES = (
    "business_financing_products",
    "business_financing_needs",
    "business_financing_applications",
)


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


def _same_city(table: str, column: str, target: str, on_delete: str = "RESTRICT") -> str:
    return (
        f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_{column}_same_tenant" '
        f'FOREIGN KEY (tenant_id, "{column}") REFERENCES "{target}" (tenant_id, id) '
        f"ON DELETE {on_delete}"
    )


SQL = [
    *[sql for t in _TABLES for sql in _tenancy(t)],
    _same_city("business_financing_products", "bank_id", "departments"),
    _same_city("business_financing_needs", "request_id", "business_requests", "CASCADE"),
    _same_city("business_financing_applications", "request_id", "business_requests", "CASCADE"),
    _same_city("business_financing_applications", "product_id", "business_financing_products"),
    _same_city("business_financing_applications", "enterprise_id", "business_enterprises"),
    'CREATE INDEX "business_financing_products_status" ON "business_financing_products" '
    "(tenant_id, status)",
    'CREATE UNIQUE INDEX "business_financing_needs_request" ON "business_financing_needs" '
    "(tenant_id, request_id)",
    # one application per request and product: a retried apply answers Conflict
    'CREATE UNIQUE INDEX "business_financing_applications_key" ON '
    '"business_financing_applications" (tenant_id, request_id, product_id)',
    'CREATE INDEX "business_financing_applications_product" ON '
    '"business_financing_applications" (tenant_id, product_id, id)',
]


class Migration(migrations.Migration):
    dependencies = [("business", "0003_policy_notify_finished")]

    initial = False

    operations = [
        ops.CreateModel(
            name='FinancingProduct',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('tenant_id', fields.BigIntField(db_index=True)),
                ('province_id', fields.BigIntField()),
                ('bank_id', fields.BigIntField()),
                ('name', fields.CharField(max_length=200)),
                ('description', fields.TextField(default='', unique=False)),
                ('min_amount', fields.DecimalField(max_digits=20, decimal_places=2)),
                ('max_amount', fields.DecimalField(max_digits=20, decimal_places=2)),
                ('min_rate', fields.DecimalField(max_digits=6, decimal_places=3)),
                ('max_rate', fields.DecimalField(max_digits=6, decimal_places=3)),
                ('min_term_months', fields.IntField()),
                ('max_term_months', fields.IntField()),
                ('collateral', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('rules', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharEnumField(default=ProductStatus.ACTIVE, description='ACTIVE: active\nWITHDRAWN: withdrawn', enum_type=ProductStatus, max_length=10)),
                ('created_by_id', fields.BigIntField(null=True)),
            ],
            options={'table': 'business_financing_products', 'app': 'business', 'pk_attr': 'id', 'table_description': "A bank's loan product (a department with the ``bank`` function). Who it is for is"},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='FinancingNeed',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('tenant_id', fields.BigIntField(db_index=True)),
                ('province_id', fields.BigIntField()),
                ('request_id', fields.BigIntField()),
                ('amount', fields.DecimalField(max_digits=20, decimal_places=2)),
                ('term_months', fields.IntField()),
                ('collateral', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'business_financing_needs', 'app': 'business', 'pk_attr': 'id', 'table_description': 'What a financing request (a business request of topic financing) asks for.'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='FinancingApplication',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('tenant_id', fields.BigIntField(db_index=True)),
                ('province_id', fields.BigIntField()),
                ('request_id', fields.BigIntField()),
                ('product_id', fields.BigIntField()),
                ('enterprise_id', fields.BigIntField()),
                ('amount', fields.DecimalField(max_digits=20, decimal_places=2)),
                ('status', fields.CharEnumField(description='APPLIED: applied\nAPPROVED: approved\nREJECTED: rejected\nWITHDRAWN: withdrawn', enum_type=ApplicationStatus, max_length=10)),
                ('approved_amount', fields.DecimalField(null=True, max_digits=20, decimal_places=2)),
                ('note', fields.TextField(default='', unique=False)),
                ('applied_by_id', fields.BigIntField(null=True)),
                ('decided_by_id', fields.BigIntField(null=True)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'business_financing_applications', 'app': 'business', 'pk_attr': 'id', 'table_description': "An enterprise's application for one product on one financing request, and its"},
            bases=['TenantModel'],
        ),
        ops.RunSQL(SQL),
    ]
