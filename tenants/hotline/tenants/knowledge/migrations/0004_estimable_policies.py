# ruff: noqa  (a migration is history: frozen literals, excluded from lint)
"""This app's row-level security policies in the shape the planner can estimate, the
same rows (``IN_SCOPE``: hotline.platform.db.rls, module docstring). Not atomic: each
``ALTER POLICY`` alone, waiting at most 5 s for its table's lock (``each_alone``); run
again after a timeout (docs/operations.md, "Migrations while the previous release
serves")."""

from tortoise import migrations
from tortoise.migrations import operations as ops

from hotline.platform.db.rls import each_alone, rescope_policies, rescope_shared_policies

SHARED = ["knowledge_articles", "knowledge_article_versions", "knowledge_synonym_groups"]


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0003_synonyms")]

    initial = False
    atomic = False

    operations = [
        ops.RunSQL(
            each_alone(
                [
                    *rescope_policies("knowledge_dictionary_words"),
                    *(sql for t in SHARED for sql in rescope_shared_policies(t)),
                ]
            ),
            atomic=False,
        ),
    ]
