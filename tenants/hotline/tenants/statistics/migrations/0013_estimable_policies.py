# ruff: noqa  (a migration is history: frozen literals, excluded from lint)
"""This app's row-level security policies in the shape the planner can estimate, the
same rows (``IN_SCOPE``: hotline.platform.db.rls, module docstring). Not atomic: each
``ALTER POLICY`` alone, waiting at most 5 s for its table's lock (``each_alone``); run
again after a timeout (docs/operations.md, "Migrations while the previous release
serves")."""

from tortoise import migrations
from tortoise.migrations import operations as ops

from hotline.platform.db.rls import each_alone, rescope_policies

TABLES = [
    "call_records",
    "export_jobs",
    "published_cases",
    "published_months",
    "stats_daily",
    "stats_daily_departments",
    "stats_dirty_days",
    "stats_monthly_departments",
    "stats_ticket_days",
]


class Migration(migrations.Migration):
    dependencies = [("statistics", "0012_overdue_now_index")]

    initial = False
    atomic = False

    operations = [
        ops.RunSQL(
            each_alone(
                [
                    *(sql for t in TABLES for sql in rescope_policies(t)),
                ]
            ),
            atomic=False,
        ),
    ]
