# ruff: noqa  (a migration is history: frozen literals, excluded from lint)
"""This app's row-level security policies in the shape the planner can estimate, the
same rows (``IN_SCOPE``: hotline.platform.db.rls, module docstring). Not atomic: each
``ALTER POLICY`` alone, waiting at most 5 s for its table's lock (``each_alone``); run
again after a timeout (docs/operations.md, "Migrations while the previous release
serves")."""

from tortoise import migrations
from tortoise.migrations import operations as ops

from hotline.platform.db.rls import IN_SCOPE, each_alone, scope_shared_rows


class Migration(migrations.Migration):
    dependencies = [("kernel", "0002_audit_by_month")]

    initial = False
    atomic = False

    operations = [
        ops.RunSQL(
            each_alone(
                [
                    f'ALTER POLICY "audit_events_read" ON "audit_events" USING ({IN_SCOPE} OR {scope_shared_rows()})',
                ]
            ),
            atomic=False,
        ),
    ]
