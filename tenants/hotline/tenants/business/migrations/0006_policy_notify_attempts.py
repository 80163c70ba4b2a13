# ruff: noqa
"""A policy's notice job is bounded: each run of it is counted on the policy, the last
failure's reason kept, and after a fixed number of runs the policy's notices are marked
failed, so the stale-job sweep stops queueing a job that fails every time
(docs/business.md, "Notices on publish"). Frozen as literals (a migration is history)."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("business", "0005_response_warning")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Policy",
            name="notify_attempts",
            field=fields.IntField(default=0),
        ),
        ops.AddField(
            model_name="Policy",
            name="notify_error",
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name="Policy",
            name="notify_failed_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
