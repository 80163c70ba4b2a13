# ruff: noqa
"""The warning before a service manager's first-response deadline: when it is due and
when it went out (once). Requests made before have none (the sweep then warns 24 hours
before their deadline). Frozen as literals (a migration is history)."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

SQL = [
    # the sweep's pick: the few unresponded, unwarned requests of a city
    'CREATE INDEX "business_requests_unwarned" ON "business_requests" (tenant_id)'
    " WHERE warned_at IS NULL AND responded_at IS NULL",
]


class Migration(migrations.Migration):
    dependencies = [("business", "0004_financing")]

    initial = False

    operations = [
        ops.AddField(
            model_name="BusinessRequest",
            name="warn_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name="BusinessRequest",
            name="warned_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.RunSQL(SQL),
    ]
