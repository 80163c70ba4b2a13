"""The transactional outbox: messages written with the change that causes them, relayed to jobs.

``add`` runs inside the caller's transaction (Tortoise's current transaction, or an
explicit connection), so a rolled-back change sends nothing and a committed one is
never lost. The relay hands due rows to the job queue; delivery is at-least-once and
every message carries a send key its receiver deduplicates by (docs/architecture.md §10).
"""

from hotline.platform.outbox.handlers import UnknownKind, handler_for
from hotline.platform.outbox.models import OutboxMessage, OutboxStatus
from hotline.platform.outbox.store import (
    CHANNEL,
    DeliveryOutcome,
    NewMessage,
    OutboxStats,
    Relayed,
    add,
    add_many,
    archive_delivered,
    backoff_delay,
    claim_for_delivery,
    claim_many_for_delivery,
    dead_letters,
    defer,
    defer_many,
    mark_failed,
    mark_sent,
    mark_sent_many,
    relay_due_batches,
    retry_dead,
    stats,
)

__all__ = [
    "CHANNEL",
    "DeliveryOutcome",
    "NewMessage",
    "OutboxMessage",
    "OutboxStats",
    "OutboxStatus",
    "Relayed",
    "UnknownKind",
    "add",
    "add_many",
    "archive_delivered",
    "backoff_delay",
    "claim_for_delivery",
    "claim_many_for_delivery",
    "dead_letters",
    "defer",
    "defer_many",
    "handler_for",
    "mark_failed",
    "mark_sent",
    "mark_sent_many",
    "relay_due_batches",
    "retry_dead",
    "stats",
]
