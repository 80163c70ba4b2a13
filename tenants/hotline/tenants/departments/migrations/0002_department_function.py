"""Departments carry the province catalogue's function (departments/functions.json), so
routing can predict a function and then pick the city's department. Frozen literals."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("departments", "0001_initial")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Department",
            name="function",
            field=fields.CharField(max_length=40, null=True),
        ),
        ops.RunSQL(
            [
                'CREATE INDEX "departments_tenant_function" ON "departments" '
                "(tenant_id, function)"
            ]
        ),
    ]
