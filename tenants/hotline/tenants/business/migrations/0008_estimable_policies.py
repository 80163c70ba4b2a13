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
    "business_enterprise_members",
    "business_enterprises",
    "business_financing_applications",
    "business_financing_needs",
    "business_financing_products",
    "business_imports",
    "business_manager_rules",
    "business_policies",
    "business_policy_notices",
    "business_requests",
]


class Migration(migrations.Migration):
    dependencies = [("business", "0007_registry_row_hash")]

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
