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
    "notices",
    "notification_preferences",
    "notification_templates",
    "webhook_endpoints",
]


class Migration(migrations.Migration):
    dependencies = [("notify", "0003_notices_by_month")]

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
