"""Per-city notification settings and the in-app notices users read."""

from __future__ import annotations

import enum
from typing import Any

from tortoise import fields

from hotline.platform.db.models import TenantModel


class Channel(enum.StrEnum):
    SMS = "sms"
    EMAIL = "email"
    INAPP = "inapp"
    WEBHOOK = "webhook"


class NotificationTemplate(TenantModel):
    """A city's wording of one event on one channel in one locale (sandboxed Jinja2)."""

    event = fields.CharField(max_length=40)
    channel = fields.CharEnumField(Channel, max_length=10)
    locale = fields.CharField(max_length=10, default="zh-CN")
    subject = fields.CharField(max_length=200, default="")
    body = fields.TextField()
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "notification_templates"
        unique_together = (("tenant_id", "event", "channel", "locale"),)


class NotificationPreference(TenantModel):
    """Switches one channel of one event ("*" = every event) on or off for the whole
    city (no department, no user), a department, or one user; the most specific wins."""

    department_id = fields.BigIntField(null=True)
    user_id = fields.BigIntField(null=True)
    event = fields.CharField(max_length=40, default="*")
    channel = fields.CharEnumField(Channel, max_length=10)
    enabled = fields.BooleanField()

    class Meta:
        table = "notification_preferences"
        # unique (tenant, department, user, event, channel) NULLS NOT DISTINCT: migration


class WebhookEndpoint(TenantModel):
    """An integration's receiver: signed POSTs for the event types it subscribed to."""

    name = fields.CharField(max_length=100)
    url = fields.CharField(max_length=500)
    secret_enc = fields.TextField()  # hotline.platform.crypto
    event_types: Any = fields.JSONField(default=list)  # ["ticket.created", …]; [] = all
    is_active = fields.BooleanField(default=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "webhook_endpoints"


class Notice(TenantModel):
    """An in-app notice for one user; the send key makes a redelivery insert nothing.

    Partitioned by month of ``created_at`` (docs/operations.md "Partitioning"), which is
    its outbox message's own creation time: every delivery of the message writes the same
    one, so ``(tenant_id, send_key, created_at)`` dedupes redeliveries exactly."""

    user_id = fields.BigIntField()
    event = fields.CharField(max_length=40)
    title = fields.CharField(max_length=200)
    body = fields.TextField(default="")
    ticket_id = fields.BigIntField(null=True)
    send_key = fields.CharField(max_length=160)
    read_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notices"
        # with the partition key (a partitioned table's unique keys must contain it)
        unique_together = (("tenant_id", "send_key", "created_at"),)
