"""The transactional outbox (infrastructure: no row-level security)."""

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
import enum
from json import dumps, loads
from tortoise import fields


class OutboxStatus(enum.StrEnum):  # frozen copy: the live enum may change, this history may not
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"


class Migration(migrations.Migration):
    dependencies = [('platform', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='OutboxMessage',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('tenant_id', fields.BigIntField(null=True)),
                ('province_id', fields.BigIntField(null=True)),
                ('kind', fields.CharField(max_length=20)),
                ('payload', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('send_key', fields.CharField(unique=True, max_length=160)),
                ('status', fields.CharEnumField(default=OutboxStatus.PENDING, description='PENDING: pending\nSENT: sent\nDEAD: dead', enum_type=OutboxStatus, max_length=10)),
                ('attempts', fields.SmallIntField(default=0)),
                ('max_attempts', fields.SmallIntField(default=8)),
                ('next_attempt_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_error', fields.TextField(default='', unique=False)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'outbox', 'app': 'platform', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        # The relay's claim reads only pending rows by due time; admins list dead letters
        # per city. The outbox has no RLS: see hotline/platform/outbox/models.py.
        ops.RunSQL([
            'CREATE INDEX "outbox_due" ON "outbox" (next_attempt_at) WHERE status = \'pending\'',
            'CREATE INDEX "outbox_dead" ON "outbox" (tenant_id, id DESC) WHERE status = \'dead\'',
        ]),
    ]
