# ruff: noqa
"""The business extension's registry, enterprise members, managers' portfolios and registry
imports; their tenancy (RLS, same-city keys) and indexes. Frozen as literals: no live model
or helper is imported (a migration is history)."""

import enum
import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class SizeClass(enum.StrEnum):
    LARGE = "large"
    MEDIUM = "medium"
    SMALL = "small"
    MICRO = "micro"


class EnterpriseStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    CANCELLED = "cancelled"


class Role(enum.StrEnum):
    TENANT_ADMIN = "tenant_admin"
    CITY_LEADER = "city_leader"
    AGENT = "agent"
    DISPATCHER = "dispatcher"
    SUPERVISOR = "supervisor"
    DEPT_HANDLER = "dept_handler"
    DEPT_MANAGER = "dept_manager"
    SERVICE_MANAGER = "service_manager"
    ENTERPRISE_ADMIN = "enterprise_admin"
    ENTERPRISE_USER = "enterprise_user"
    AUDITOR = "auditor"


class RuleKind(enum.StrEnum):
    ENTERPRISE = "enterprise"
    INDUSTRY = "industry"
    AREA = "area"


class ImportStatus(enum.StrEnum):
    AWAITING_UPLOAD = "awaiting_upload"
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


_CITY_OR_PROVINCE = (
    "((current_setting('app.scope', true) = 'city' AND tenant_id = "
    "NULLIF(current_setting('app.tenant_id', true), '')::bigint) OR "
    "(current_setting('app.scope', true) = 'province' AND province_id = "
    "NULLIF(current_setting('app.province_id', true), '')::bigint))"
)

_TABLES = (
    "business_enterprises",
    "business_enterprise_members",
    "business_manager_rules",
    "business_imports",
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
    _same_city("business_enterprises", "area_id", "departments"),
    _same_city("business_enterprise_members", "enterprise_id", "business_enterprises", "CASCADE"),
    _same_city("business_manager_rules", "enterprise_id", "business_enterprises", "CASCADE"),
    _same_city("business_manager_rules", "area_id", "departments"),
    'ALTER TABLE "business_enterprise_members" ADD CONSTRAINT "business_members_user_fk" '
    'FOREIGN KEY (user_id) REFERENCES "users" (id) ON DELETE CASCADE',
    'ALTER TABLE "business_manager_rules" ADD CONSTRAINT "business_rules_manager_fk" '
    'FOREIGN KEY (manager_id) REFERENCES "users" (id) ON DELETE RESTRICT',
    # the registry: one row per USCC and city (the import's upsert key)
    'CREATE UNIQUE INDEX "business_enterprises_uscc" ON "business_enterprises" (tenant_id, uscc)',
    'CREATE INDEX "business_enterprises_industry" ON "business_enterprises" (tenant_id, industry)',
    'CREATE INDEX "business_enterprises_area" ON "business_enterprises" (tenant_id, area_id)',
    'CREATE INDEX "business_enterprises_size" ON "business_enterprises" (tenant_id, size_class)',
    'CREATE INDEX "business_enterprises_tags" ON "business_enterprises" USING gin (tags jsonb_path_ops)',
    # one enterprise per user and city (the third wall)
    'CREATE UNIQUE INDEX "business_members_user" ON "business_enterprise_members" (tenant_id, user_id)',
    'CREATE INDEX "business_members_enterprise" ON "business_enterprise_members" (tenant_id, enterprise_id)',
    # one rule per manager-independent key: an enterprise, an industry in an area, an area
    'CREATE UNIQUE INDEX "business_rules_key" ON "business_manager_rules" '
    "(tenant_id, kind, enterprise_id, industry, area_id) NULLS NOT DISTINCT",
    'CREATE INDEX "business_rules_manager" ON "business_manager_rules" (tenant_id, manager_id)',
    "ALTER TABLE business_manager_rules ADD CONSTRAINT business_rules_shape CHECK ("
    "(kind = 'enterprise' AND enterprise_id IS NOT NULL AND industry IS NULL AND area_id IS NULL)"
    " OR (kind = 'industry' AND industry IS NOT NULL AND enterprise_id IS NULL)"
    " OR (kind = 'area' AND area_id IS NOT NULL AND enterprise_id IS NULL AND industry IS NULL))",
]


class Migration(migrations.Migration):
    dependencies = [("provinces", "0001_initial"), ("departments", "0001_initial"), ("accounts", "0001_initial")]

    initial = True

    operations = [
        ops.CreateModel(
            name='Enterprise',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('tenant_id', fields.BigIntField(db_index=True)),
                ('province_id', fields.BigIntField()),
                ('uscc', fields.CharField(max_length=18)),
                ('name', fields.CharField(max_length=200)),
                ('legal_rep_enc', fields.TextField(null=True, unique=False)),
                ('industry', fields.CharField(max_length=2)),
                ('section', fields.CharField(max_length=1)),
                ('employees', fields.IntField(null=True)),
                ('revenue', fields.DecimalField(null=True, max_digits=20, decimal_places=2)),
                ('size_class', fields.CharEnumField(null=True, description='LARGE: large\nMEDIUM: medium\nSMALL: small\nMICRO: micro', enum_type=SizeClass, max_length=6)),
                ('area_id', fields.BigIntField(null=True)),
                ('registered_capital', fields.DecimalField(null=True, max_digits=20, decimal_places=2)),
                ('founded_on', fields.DateField(null=True)),
                ('status', fields.CharEnumField(default=EnterpriseStatus.ACTIVE, description='ACTIVE: active\nSUSPENDED: suspended\nREVOKED: revoked\nCANCELLED: cancelled', enum_type=EnterpriseStatus, max_length=10)),
                ('tags', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'business_enterprises', 'app': 'business', 'pk_attr': 'id'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='EnterpriseMember',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('tenant_id', fields.BigIntField(db_index=True)),
                ('province_id', fields.BigIntField()),
                ('enterprise_id', fields.BigIntField()),
                ('user_id', fields.BigIntField()),
                ('role', fields.CharEnumField(description='TENANT_ADMIN: tenant_admin\nCITY_LEADER: city_leader\nAGENT: agent\nDISPATCHER: dispatcher\nSUPERVISOR: supervisor\nDEPT_HANDLER: dept_handler\nDEPT_MANAGER: dept_manager\nSERVICE_MANAGER: service_manager\nENTERPRISE_ADMIN: enterprise_admin\nENTERPRISE_USER: enterprise_user\nAUDITOR: auditor', enum_type=Role, max_length=20)),
                ('verified_by_id', fields.BigIntField(null=True)),
            ],
            options={'table': 'business_enterprise_members', 'app': 'business', 'pk_attr': 'id', 'table_description': "A user's place in one enterprise of the city (at most one per city)."},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='ManagerRule',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('tenant_id', fields.BigIntField(db_index=True)),
                ('province_id', fields.BigIntField()),
                ('manager_id', fields.BigIntField()),
                ('kind', fields.CharEnumField(description='ENTERPRISE: enterprise\nINDUSTRY: industry\nAREA: area', enum_type=RuleKind, max_length=10)),
                ('enterprise_id', fields.BigIntField(null=True)),
                ('industry', fields.CharField(null=True, max_length=2)),
                ('area_id', fields.BigIntField(null=True)),
                ('area_path', fields.CharField(null=True, max_length=255)),
            ],
            options={'table': 'business_manager_rules', 'app': 'business', 'pk_attr': 'id', 'table_description': "One piece of a service manager's portfolio."},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='RegistryImport',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('tenant_id', fields.BigIntField(db_index=True)),
                ('province_id', fields.BigIntField()),
                ('file_name', fields.CharField(max_length=200)),
                ('object_key', fields.CharField(max_length=255)),
                ('status', fields.CharEnumField(description='AWAITING_UPLOAD: awaiting_upload\nQUEUED: queued\nRUNNING: running\nDONE: done\nFAILED: failed', enum_type=ImportStatus, max_length=16)),
                ('total_rows', fields.IntField(default=0)),
                ('processed_rows', fields.IntField(default=0)),
                ('inserted', fields.IntField(default=0)),
                ('updated', fields.IntField(default=0)),
                ('rejected', fields.IntField(default=0)),
                ('encoding', fields.CharField(null=True, max_length=10)),
                ('error', fields.TextField(null=True, unique=False)),
                ('report_key', fields.CharField(null=True, max_length=255)),
                ('rejected_sample', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_by_id', fields.BigIntField(null=True)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'business_imports', 'app': 'business', 'pk_attr': 'id'},
            bases=['TenantModel'],
        ),
        ops.RunSQL(SQL),
    ]
