# ruff: noqa  (a migration is history: frozen literals, excluded from lint)
"""The authserv-id of a city's mail server: only its Authentication-Results verdict
lets a mail be appended to a ticket. Frozen literals."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("channels", "0003_place_names_to_gazetteer")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Mailbox",
            name="authserv_id",
            field=fields.CharField(default="", max_length=200),
        ),
    ]
