# ruff: noqa
"""A province admin's province-wide export has no city: ``export_jobs.tenant_id`` may be
NULL. The table's policies are unchanged — a city scope reads ``tenant_id = city`` (never
a NULL), the province scope its province's rows — so such a row is the province's only.
An index for the stale-job sweep's look-up of queued exports. Frozen literals."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("statistics", "0004_call_recordings")]

    initial = False

    operations = [
        ops.AlterField(
            model_name="ExportJob",
            name="tenant_id",
            field=fields.BigIntField(null=True, db_index=True),
        ),
        ops.RunSQL(
            [
                'CREATE INDEX "export_jobs_queued" ON "export_jobs" (created_at) '
                "WHERE status = 'queued'",
            ]
        ),
    ]
