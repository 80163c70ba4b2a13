"""The outbox table.

It carries ``tenant_id``/``province_id`` but is infrastructure, not a tenant table:
the relay reads due rows of every city in one indexed query, and the delivery job
reads its row by id before it knows (or sets) the city. So it has no row-level
security; tenant code only ever appends to it (``add``), and the admin listing of
dead letters filters by the caller's city explicitly (like ``api_keys``).
"""

from __future__ import annotations

import enum
from typing import Any

from tortoise import fields

from hotline.platform.db.models import Model


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for (another) delivery attempt at ``next_attempt_at``
    SENT = "sent"
    DEAD = "dead"  # out of attempts: the dead-letter list, retryable by an admin


class OutboxMessage(Model):
    tenant_id = fields.BigIntField(null=True)
    province_id = fields.BigIntField(null=True)
    kind = fields.CharField(max_length=20)  # channel: sms | email | webhook | inapp
    payload: Any = fields.JSONField(default=dict)
    # The message's identity for receivers (Idempotency-Key / Message-ID) and for us:
    # writing the same send key twice adds nothing.
    send_key = fields.CharField(max_length=160, unique=True)
    status = fields.CharEnumField(OutboxStatus, max_length=10, default=OutboxStatus.PENDING)
    attempts = fields.SmallIntField(default=0)
    max_attempts = fields.SmallIntField(default=8)
    # Due time of the next attempt; while a job holds the row it is the lease's end.
    next_attempt_at = fields.DatetimeField()
    last_error = fields.TextField(default="")
    sent_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "outbox"
