# ruff: noqa  (a migration is history: frozen literals, excluded from lint)
"""An export's runs: how many started (``attempts``, 0 for the rows already there: a
database default, so no row needs updating under row-level security) and the running
one's heartbeat; an index for the sweep's look-up of running exports whose heartbeat
stopped. Frozen literals."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("statistics", "0007_working_time_histograms")]

    initial = False

    operations = [
        ops.AddField(
            model_name="ExportJob",
            name="attempts",
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name="ExportJob",
            name="heartbeat_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.RunSQL(
            [
                'CREATE INDEX "export_jobs_running" ON "export_jobs" '
                "(coalesce(heartbeat_at, created_at)) WHERE status = 'running'",
            ]
        ),
    ]
