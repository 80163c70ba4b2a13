# ruff: noqa
"""Registry imports skip rows they would not change: each enterprise row written by an
import carries a keyed hash of its imported content (``row_hash``; NULL for rows written
otherwise, so the next import rewrites them), and an import counts the rows it found
unchanged (docs/business.md, "Import"). The single-column ``tenant_id`` index every
tenant model declares is dropped from the registry: each of the table's composite
indexes starts with ``tenant_id`` (the unique ``(tenant_id, uscc)`` and
``(tenant_id, id)`` among them), so it serves no query, and an import of 100,000 rows paid
for 100,000 entries in it. Frozen as literals (a migration is history)."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

SQL = ['DROP INDEX IF EXISTS "idx_business_en_tenant__a9e668"']


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
        ops.RunSQL(SQL),
    ]
