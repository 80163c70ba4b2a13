# ruff: noqa  (a migration is history: frozen literals, excluded from lint)
"""A call's recording: where the CTI keeps it, and the audio evidence it became on the
linked ticket (set once by the channels' ``call_recording`` job). Frozen literals."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("statistics", "0003_disclosure")]

    initial = False

    operations = [
        ops.AddField(
            model_name="CallRecord",
            name="recording_url",
            field=fields.CharField(max_length=1000, null=True),
        ),
        ops.AddField(
            model_name="CallRecord",
            name="recording_evidence_id",
            field=fields.BigIntField(null=True),
        ),
    ]
