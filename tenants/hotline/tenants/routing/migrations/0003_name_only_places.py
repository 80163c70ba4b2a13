# ruff: noqa  (a migration is history: frozen literals, excluded from lint)
"""A gazetteer place may imply no unit: a name only (the former SMS place list of the
channels, now read from here). One name-only row per name and city. Frozen literals."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("routing", "0002_places")]

    initial = False

    operations = [
        ops.AlterField(
            model_name="GazetteerPlace",
            name="department_id",
            field=fields.BigIntField(null=True),
        ),
        ops.RunSQL(
            [
                'CREATE UNIQUE INDEX "gazetteer_places_name_only" ON "gazetteer_places" '
                "(tenant_id, name) WHERE department_id IS NULL"
            ]
        ),
    ]
