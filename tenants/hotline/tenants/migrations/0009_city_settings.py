"""A city's validated settings beside its on/off feature flags: the new column, and the
values that used to live among the flags moved over. Frozen literals."""

import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

MOVE = [
    """
    UPDATE tenants SET settings = jsonb_strip_nulls(jsonb_build_object(
        'revisit_sampling', (features->>'revisit_sampling')::boolean,
        'auto_dispatch_threshold', (features->'routing'->>'auto_dispatch_threshold')::float8,
        'supervision_escalation_hours', features->'supervision_escalation'->'after_working_hours'
    ))
    """,
    "UPDATE tenants SET features = features - 'revisit_sampling' - 'routing' "
    "- 'supervision_escalation'",
]


class Migration(migrations.Migration):
    dependencies = [("hotline", "0008_suspensions")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Tenant",
            name="settings",
            field=fields.JSONField(
                default=dict,
                encoder=functools.partial(dumps, separators=(",", ":")),
                decoder=loads,
            ),
        ),
        ops.RunSQL(MOVE),
    ]
