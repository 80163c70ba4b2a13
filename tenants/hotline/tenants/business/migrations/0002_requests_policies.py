# ruff: noqa
"""Business requests (the business side of a ticket), policies and their notices; their
tenancy (RLS, same-city keys) and indexes. Frozen as literals: no live model or helper
is imported (a migration is history)."""

import enum
import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class RequestTopic(enum.StrEnum):
    POLICY = "policy"
    FINANCING = "financing"
    LEGAL = "legal"
    APPROVAL = "approval"
    COMPLAINT = "complaint"


class Usefulness(enum.StrEnum):
    USEFUL = "useful"
    PARTLY = "partly"
    NOT_USEFUL = "not_useful"


class PolicyStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


_CITY_OR_PROVINCE = (
    "((current_setting('app.scope', true) = 'city' AND tenant_id = "
    "NULLIF(current_setting('app.tenant_id', true), '')::bigint) OR "
    "(current_setting('app.scope', true) = 'province' AND province_id = "
    "NULLIF(current_setting('app.province_id', true), '')::bigint))"
)

_TABLES = ("business_requests", "business_policies", "business_policy_notices")


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
    _same_city("business_requests", "ticket_id", "tickets", "CASCADE"),
    _same_city("business_requests", "enterprise_id", "business_enterprises"),
    _same_city("business_policies", "department_id", "departments"),
    _same_city("business_policy_notices", "policy_id", "business_policies", "CASCADE"),
    _same_city("business_policy_notices", "enterprise_id", "business_enterprises", "CASCADE"),
    'CREATE UNIQUE INDEX "business_requests_ticket" ON "business_requests" (tenant_id, ticket_id)',
    'CREATE INDEX "business_requests_enterprise" ON "business_requests" (tenant_id, enterprise_id, id)',
    'CREATE INDEX "business_requests_manager" ON "business_requests" (tenant_id, manager_id, id)',
    'CREATE INDEX "business_policies_status" ON "business_policies" (tenant_id, status)',
    # at most one notice per policy and enterprise: the notify job's re-run guard
    'CREATE UNIQUE INDEX "business_policy_notices_key" ON "business_policy_notices" '
    "(tenant_id, policy_id, enterprise_id)",
    # eligibility conditions on capital and age (industry, area, size, tags: 0001)
    'CREATE INDEX "business_enterprises_capital" ON "business_enterprises" (tenant_id, registered_capital)',
    'CREATE INDEX "business_enterprises_founded" ON "business_enterprises" (tenant_id, founded_on)',
]


class Migration(migrations.Migration):
    dependencies = [("business", "0001_initial"), ("tickets", "0001_initial")]

    initial = False

    operations = [
        ops.CreateModel(
            name='BusinessRequest',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('tenant_id', fields.BigIntField(db_index=True)),
                ('province_id', fields.BigIntField()),
                ('ticket_id', fields.BigIntField()),
                ('enterprise_id', fields.BigIntField()),
                ('topic', fields.CharEnumField(description='POLICY: policy\nFINANCING: financing\nLEGAL: legal\nAPPROVAL: approval\nCOMPLAINT: complaint', enum_type=RequestTopic, max_length=10)),
                ('submitted_by_id', fields.BigIntField(null=True)),
                ('manager_id', fields.BigIntField(null=True)),
                ('response_deadline', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('responded_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('rating', fields.CharEnumField(null=True, description='USEFUL: useful\nPARTLY: partly\nNOT_USEFUL: not_useful', enum_type=Usefulness, max_length=10)),
                ('rating_comment', fields.TextField(default='', unique=False)),
                ('rated_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'business_requests', 'app': 'business', 'pk_attr': 'id', 'table_description': 'What makes a ticket a business request: its enterprise, topic and manager, the'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='Policy',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('tenant_id', fields.BigIntField(db_index=True)),
                ('province_id', fields.BigIntField()),
                ('title', fields.CharField(max_length=200)),
                ('body', fields.TextField(unique=False)),
                ('department_id', fields.BigIntField()),
                ('valid_from', fields.DateField(null=True)),
                ('valid_until', fields.DateField(null=True)),
                ('rules', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharEnumField(default=PolicyStatus.DRAFT, description='DRAFT: draft\nPUBLISHED: published\nWITHDRAWN: withdrawn', enum_type=PolicyStatus, max_length=10)),
                ('published_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_by_id', fields.BigIntField(null=True)),
                ('notified', fields.IntField(default=0)),
            ],
            options={'table': 'business_policies', 'app': 'business', 'pk_attr': 'id', 'table_description': 'A policy a department issues, with its eligibility rules as data (``eligibility``).'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='PolicyNotice',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('tenant_id', fields.BigIntField(db_index=True)),
                ('province_id', fields.BigIntField()),
                ('policy_id', fields.BigIntField()),
                ('enterprise_id', fields.BigIntField()),
            ],
            options={'table': 'business_policy_notices', 'app': 'business', 'pk_attr': 'id', 'table_description': 'One eligible enterprise told of one policy (unique: at most once each).'},
            bases=['TenantModel'],
        ),
        ops.RunSQL(SQL),
    ]
