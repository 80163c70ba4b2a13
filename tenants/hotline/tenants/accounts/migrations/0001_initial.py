# ruff: noqa  (a migration is history: frozen literals, excluded from lint)
"""People, their roles (per city, per province), login sessions and API keys; the
memberships' tenancy (a user also reads their own memberships in every city).
Frozen as literals: nothing of the live domain is imported."""

import enum
import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from hotline.platform.db.rls import enable_tenant_rls, own_user_rows, same_tenant_fk


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


class PlatformRole(enum.StrEnum):
    PROVINCE_ADMIN = "province_admin"
    PLATFORM_OPERATOR = "platform_operator"


SQL = [
    'ALTER TABLE "memberships" ADD CONSTRAINT "memberships_tenant_fk" '
    'FOREIGN KEY (tenant_id) REFERENCES "tenants" (id) ON DELETE CASCADE',
    'ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_tenant_fk" '
    'FOREIGN KEY (tenant_id) REFERENCES "tenants" (id) ON DELETE CASCADE',
    'ALTER TABLE "province_roles" ADD CONSTRAINT "province_roles_province_fk" '
    'FOREIGN KEY (province_id) REFERENCES "provinces" (id) ON DELETE CASCADE',
    *enable_tenant_rls("memberships", extra_read=own_user_rows()),
    same_tenant_fk("memberships", "department_id", "departments", on_delete="SET NULL"),
    'CREATE UNIQUE INDEX "memberships_unique_role" ON "memberships" '
    "(tenant_id, user_id, role, department_id) NULLS NOT DISTINCT",
]


class Migration(migrations.Migration):
    dependencies = [('provinces', '0001_initial'), ('departments', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='User',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('username', fields.CharField(unique=True, max_length=64)),
                ('display_name', fields.CharField(max_length=100)),
                ('email', fields.CharField(null=True, max_length=254)),
                ('locale', fields.CharField(default='zh-CN', max_length=10)),
                ('password_hash', fields.CharField(null=True, max_length=200)),
                ('password_changed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('is_active', fields.BooleanField(default=True)),
                ('is_platform_operator', fields.BooleanField(default=False)),
                ('failed_logins', fields.IntField(default=0)),
                ('locked_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('totp_secret', fields.CharField(null=True, max_length=200)),
                ('totp_enabled', fields.BooleanField(default=False)),
                ('external_id', fields.CharField(null=True, unique=True, max_length=300)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('created_in_tenant_id', fields.BigIntField(null=True)),
            ],
            options={'table': 'users', 'app': 'accounts', 'pk_attr': 'id', 'table_description': 'A person. Global: one person may serve several cities; authentication precedes'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ProvinceRole',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('user', fields.ForeignKeyField('accounts.User', source_field='user_id', db_constraint=True, to_field='id', related_name='province_roles', on_delete=OnDelete.CASCADE)),
                ('province_id', fields.BigIntField(db_index=True)),
                ('role', fields.CharEnumField(description='PROVINCE_ADMIN: province_admin\nPLATFORM_OPERATOR: platform_operator', enum_type=PlatformRole, max_length=20)),
            ],
            options={'table': 'province_roles', 'app': 'accounts', 'unique_together': (('user', 'province_id', 'role'),), 'pk_attr': 'id', 'table_description': "A province-level role (province admin) — the province scope's membership."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Membership',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('tenant_id', fields.BigIntField(db_index=True)),
                ('province_id', fields.BigIntField()),
                ('user', fields.ForeignKeyField('accounts.User', source_field='user_id', db_constraint=True, to_field='id', related_name='memberships', on_delete=OnDelete.CASCADE)),
                ('role', fields.CharEnumField(description='TENANT_ADMIN: tenant_admin\nCITY_LEADER: city_leader\nAGENT: agent\nDISPATCHER: dispatcher\nSUPERVISOR: supervisor\nDEPT_HANDLER: dept_handler\nDEPT_MANAGER: dept_manager\nSERVICE_MANAGER: service_manager\nENTERPRISE_ADMIN: enterprise_admin\nENTERPRISE_USER: enterprise_user\nAUDITOR: auditor', enum_type=Role, max_length=20)),
                ('department_id', fields.BigIntField(null=True)),
                ('is_active', fields.BooleanField(default=True)),
            ],
            options={'table': 'memberships', 'app': 'accounts', 'pk_attr': 'id', 'table_description': "A user's role in one city, optionally limited to a department's subtree."},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='ApiKey',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('tenant_id', fields.BigIntField(db_index=True)),
                ('province_id', fields.BigIntField()),
                ('name', fields.CharField(max_length=100)),
                ('prefix', fields.CharField(unique=True, max_length=16)),
                ('secret_hash', fields.CharField(max_length=128)),
                ('roles', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_by_id', fields.BigIntField(null=True)),
                ('last_used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'api_keys', 'app': 'accounts', 'pk_attr': 'id', 'table_description': "An integration's key: scoped to one city and a set of roles; only a hash is kept."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RefreshToken',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('user', fields.ForeignKeyField('accounts.User', source_field='user_id', db_constraint=True, to_field='id', related_name='refresh_tokens', on_delete=OnDelete.CASCADE)),
                ('family', fields.UUIDField(db_index=True)),
                ('token_hash', fields.CharField(unique=True, max_length=128)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'refresh_tokens', 'app': 'accounts', 'pk_attr': 'id', 'table_description': 'One refresh token of a login session; rotation replaces it, reuse revokes the family.'},
            bases=['Model'],
        ),
        ops.RunSQL(SQL),
    ]
