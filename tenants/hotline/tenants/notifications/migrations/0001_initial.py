# ruff: noqa  (generated migration; the migrations folders are excluded from lint)
import enum
import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.migrations import operations as ops



# Frozen copies: the live enums may change, this history may not.
class Channel(enum.StrEnum):
    SMS = "sms"
    EMAIL = "email"
    INAPP = "inapp"
    WEBHOOK = "webhook"




class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name="Notice",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("tenant_id", fields.BigIntField(db_index=True)),
                ("province_id", fields.BigIntField()),
                ("user_id", fields.BigIntField()),
                ("event", fields.CharField(max_length=40)),
                ("title", fields.CharField(max_length=200)),
                ("body", fields.TextField(default="", unique=False)),
                ("ticket_id", fields.BigIntField(null=True)),
                ("send_key", fields.CharField(max_length=160)),
                ("read_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "notices",
                "app": "notify",
                "unique_together": (("tenant_id", "send_key"),),
                "pk_attr": "id",
                "table_description": "An in-app notice for one user; the send key makes a redelivery insert nothing.",
            },
            bases=["TenantModel"],
        ),
        ops.CreateModel(
            name="NotificationPreference",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("tenant_id", fields.BigIntField(db_index=True)),
                ("province_id", fields.BigIntField()),
                ("department_id", fields.BigIntField(null=True)),
                ("user_id", fields.BigIntField(null=True)),
                ("event", fields.CharField(default="*", max_length=40)),
                (
                    "channel",
                    fields.CharEnumField(
                        description="SMS: sms\nEMAIL: email\nINAPP: inapp\nWEBHOOK: webhook",
                        enum_type=Channel,
                        max_length=10,
                    ),
                ),
                ("enabled", fields.BooleanField()),
            ],
            options={
                "table": "notification_preferences",
                "app": "notify",
                "pk_attr": "id",
                "table_description": 'Switches one channel of one event ("*" = every event) on or off for the whole',
            },
            bases=["TenantModel"],
        ),
        ops.CreateModel(
            name="NotificationTemplate",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("tenant_id", fields.BigIntField(db_index=True)),
                ("province_id", fields.BigIntField()),
                ("event", fields.CharField(max_length=40)),
                (
                    "channel",
                    fields.CharEnumField(
                        description="SMS: sms\nEMAIL: email\nINAPP: inapp\nWEBHOOK: webhook",
                        enum_type=Channel,
                        max_length=10,
                    ),
                ),
                ("locale", fields.CharField(default="zh-CN", max_length=10)),
                ("subject", fields.CharField(default="", max_length=200)),
                ("body", fields.TextField(unique=False)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "notification_templates",
                "app": "notify",
                "unique_together": (("tenant_id", "event", "channel", "locale"),),
                "pk_attr": "id",
                "table_description": "A city's wording of one event on one channel in one locale (sandboxed Jinja2).",
            },
            bases=["TenantModel"],
        ),
        ops.CreateModel(
            name="WebhookEndpoint",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("tenant_id", fields.BigIntField(db_index=True)),
                ("province_id", fields.BigIntField()),
                ("name", fields.CharField(max_length=100)),
                ("url", fields.CharField(max_length=500)),
                ("secret_enc", fields.TextField(unique=False)),
                (
                    "event_types",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("is_active", fields.BooleanField(default=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "webhook_endpoints",
                "app": "notify",
                "pk_attr": "id",
                "table_description": "An integration's receiver: signed POSTs for the event types it subscribed to.",
            },
            bases=["TenantModel"],
        ),
    ]
