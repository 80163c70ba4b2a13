# ruff: noqa  (a migration is history: frozen literals, excluded from lint)
"""This app's row-level security policies in the shape the planner can estimate, the
same rows (``IN_SCOPE``: hotline.platform.db.rls, module docstring). Not atomic: each
``ALTER POLICY`` alone, waiting at most 5 s for its table's lock (``each_alone``); run
again after a timeout (docs/operations.md, "Migrations while the previous release
serves")."""

from tortoise import migrations
from tortoise.migrations import operations as ops

from hotline.platform.db.rls import IN_ANY_SCOPE_PROVINCE, IN_SCOPE_PROVINCE, each_alone, rescope_policies

TABLES = [
    "gazetteer_places",
    "routing_model_versions",
    "routing_rules",
    "routing_suggestions",
]


class Migration(migrations.Migration):
    dependencies = [("routing", "0003_name_only_places")]

    initial = False
    atomic = False

    operations = [
        ops.RunSQL(
            each_alone(
                [
                    *(sql for t in TABLES for sql in rescope_policies(t)),
                    f'ALTER POLICY "routing_province_models_read" ON "routing_province_models" USING {IN_ANY_SCOPE_PROVINCE}',
                    f'ALTER POLICY "routing_province_models_insert" ON "routing_province_models" WITH CHECK {IN_SCOPE_PROVINCE}',
                    f'ALTER POLICY "routing_province_models_update" ON "routing_province_models" USING {IN_SCOPE_PROVINCE} WITH CHECK {IN_SCOPE_PROVINCE}',
                    f'ALTER POLICY "routing_province_models_delete" ON "routing_province_models" USING {IN_SCOPE_PROVINCE}',
                ]
            ),
            atomic=False,
        ),
    ]
