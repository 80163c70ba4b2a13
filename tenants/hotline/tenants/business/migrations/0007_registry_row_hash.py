# ruff: noqa
"""Registry imports skip rows they would not change: each enterprise row written by an
import carries a keyed hash of its imported content (``row_hash``; NULL for rows written
otherwise, so the next import rewrites them), and an import counts the rows it found
unchanged (docs/business.md, "Import"). Frozen as literals (a migration is history)."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("business", "0006_policy_notify_attempts")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Enterprise",
            name="row_hash",
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name="RegistryImport",
            name="unchanged",
            field=fields.IntField(default=0),
        ),
    ]
