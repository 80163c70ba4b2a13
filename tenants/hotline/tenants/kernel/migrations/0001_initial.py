# ruff: noqa  (a migration is history: frozen literals, excluded from lint)
"""The audit log: anyone may append; a city reads its rows, a province its province's.
Frozen as literals: nothing of the live domain is imported (a migration is history)."""

import enum
import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from hotline.platform.db.rls import CITY_OR_PROVINCE

SQL = [
    'ALTER TABLE "audit_events" ENABLE ROW LEVEL SECURITY',
    'ALTER TABLE "audit_events" FORCE ROW LEVEL SECURITY',
    'CREATE POLICY "audit_events_append" ON "audit_events" FOR INSERT WITH CHECK (true)',
    f'CREATE POLICY "audit_events_read" ON "audit_events" FOR SELECT USING ({CITY_OR_PROVINCE}'
    " OR (current_setting('app.scope', true) = 'province' AND tenant_id IS NULL "
    "AND province_id = NULLIF(current_setting('app.province_id', true), '')::bigint))",
    'CREATE INDEX "audit_events_scope" ON "audit_events" (province_id, tenant_id, created_at)',
]


class Migration(migrations.Migration):
    dependencies = []

    initial = True

    operations = [
        ops.CreateModel(
            name='AuditEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('tenant_id', fields.BigIntField(null=True, db_index=True)),
                ('province_id', fields.BigIntField(null=True)),
                ('actor_id', fields.BigIntField(null=True)),
                ('action', fields.CharField(max_length=64)),
                ('target', fields.CharField(default='', max_length=200)),
                ('detail', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('ip', fields.CharField(null=True, max_length=64)),
            ],
            options={'table': 'audit_events', 'app': 'kernel', 'pk_attr': 'id', 'table_description': 'Admin actions and every unmasking of personal data. Append-only.'},
            bases=['Model'],
        ),
        ops.RunSQL(SQL),
    ]
