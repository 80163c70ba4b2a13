# ruff: noqa  (a migration is history: frozen literals, excluded from lint)
"""A city's departments (a tree): the table, its tenancy (RLS, same-city parent) and the
subtree index. Frozen as literals: nothing of the live domain is imported."""

import enum
import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from hotline.platform.db.rls import enable_tenant_rls, same_tenant_fk


class DepartmentKind(enum.StrEnum):
    CENTER = "center"
    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"
    BUREAU = "bureau"
    UTILITY = "utility"
    DUTY_ROOM = "duty_room"


SQL = [
    'ALTER TABLE "departments" ADD CONSTRAINT "departments_tenant_fk" '
    'FOREIGN KEY (tenant_id) REFERENCES "tenants" (id) ON DELETE RESTRICT',
    *enable_tenant_rls("departments"),
    same_tenant_fk("departments", "parent_id", "departments"),
    'CREATE INDEX "departments_path_prefix" ON "departments" (tenant_id, path text_pattern_ops)',
]


class Migration(migrations.Migration):
    dependencies = [('provinces', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='Department',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('tenant_id', fields.BigIntField(db_index=True)),
                ('province_id', fields.BigIntField()),
                ('parent', fields.ForeignKeyField('departments.Department', source_field='parent_id', null=True, db_constraint=True, to_field='id', related_name='children', on_delete=OnDelete.RESTRICT)),
                ('path', fields.CharField(db_index=True, max_length=400)),
                ('depth', fields.SmallIntField(default=0)),
                ('kind', fields.CharEnumField(description='CENTER: center\nDISTRICT: district\nSTREET: street\nCOMMUNITY: community\nBUREAU: bureau\nUTILITY: utility\nDUTY_ROOM: duty_room', enum_type=DepartmentKind, max_length=12)),
                ('name', fields.CharField(max_length=100)),
                ('code', fields.CharField(null=True, max_length=32)),
                ('contacts', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('duty_hours', fields.CharField(default='', max_length=100)),
                ('is_duty_room', fields.BooleanField(default=False)),
                ('is_active', fields.BooleanField(default=True)),
                ('deactivated_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'departments', 'app': 'departments', 'unique_together': (('tenant_id', 'code'),), 'pk_attr': 'id'},
            bases=['TenantModel'],
        ),
        ops.RunSQL(SQL),
    ]
