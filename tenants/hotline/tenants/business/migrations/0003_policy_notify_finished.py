"""A policy records when its notices were all sent, so the stale-job sweep knows which
published policies still wait for their job (docs/operations.md, "Queues"). Policies
published before this are re-checked once: notices are unique per enterprise, so a
re-run tells no one twice. Frozen literals."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("business", "0002_requests_policies")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Policy",
            name="notify_finished_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
