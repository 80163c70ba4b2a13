"""Delivering one outbox message on its channel (run by a worker job in the message's city).

At-least-once: a message is marked sent only after its channel accepted it, so a crash
in between sends it again, with the same send key, which the receiver deduplicates
(webhooks and the SMS gateway: ``Idempotency-Key``; e-mail: ``Message-ID``; in-app:
a unique key on the notice, its send key with its message's time).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import structlog
from tortoise.transactions import in_transaction

from hotline.platform import clock, outbox, pubsub
from hotline.platform.crypto import decrypt
from hotline.platform.observability import tracing
from hotline.platform.redis import tenant_key
from hotline.platform.senders.config import get_delivery_settings
from hotline.platform.senders.email import send_email
from hotline.platform.senders.errors import SendFailed
from hotline.platform.senders.sms import quiet_until, send_sms
from hotline.platform.senders.webhook import send_webhook
from hotline.tenants.notifications.models import Channel, WebhookEndpoint

log = structlog.get_logger(__name__)


def notice_channel(tenant_id: int, user_id: int) -> str:
    """The Redis pub/sub channel a user's GraphQL subscription listens on."""
    return tenant_key(tenant_id, "notices", user_id)


# The notice's time is its message's own creation time, not this delivery's: every
# delivery of the message writes the same one, so the key (tenant_id, send_key, created_at)
# of the month-partitioned table arbitrates a redelivery exactly, in whichever month it
# runs (docs/operations.md "Partitioning").
_INSERT_NOTICE = (
    "INSERT INTO notices (tenant_id, province_id, user_id, event, title, body, ticket_id,"
    " send_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    " ON CONFLICT (tenant_id, send_key, created_at) DO NOTHING RETURNING id"
)


async def _inapp(message: outbox.OutboxMessage) -> None:
    p = message.payload
    async with in_transaction("default") as conn:
        rows = await conn.execute_query_dict(
            _INSERT_NOTICE,
            [
                message.tenant_id,
                message.province_id,
                p["user_id"],
                p["event"],
                p["subject"][:200],
                p["body"],
                p.get("ticket_id"),
                message.send_key,
                message.created_at,
            ],
        )
    if rows:  # a redelivery inserted nothing and pushes nothing
        assert message.tenant_id is not None
        await pubsub.publish(
            notice_channel(message.tenant_id, int(p["user_id"])), {"notice_id": rows[0]["id"]}
        )


# A webhook endpoint as delivery needs it: (URL, decrypted signing secret).
Hook = tuple[str, str]
_CHANNELS = frozenset(c.value for c in Channel)


async def send(message: outbox.OutboxMessage) -> None:
    """The outbox handler of the notification channels (sms, email, webhook, inapp)."""
    await _send(message)


async def _send(message: outbox.OutboxMessage, endpoints: dict[int, Hook] | None = None) -> None:
    p = message.payload
    kind = Channel(message.kind)
    if kind is Channel.SMS:
        await send_sms(to=decrypt(p["to_enc"]), text=p["text"], send_key=message.send_key)
    elif kind is Channel.EMAIL:
        await send_email(
            to=p["to"], subject=p["subject"], body=p["body"], send_key=message.send_key
        )
    elif kind is Channel.WEBHOOK:
        if endpoints is None:
            endpoints = await _hooks({int(p["endpoint_id"])})
        hook = endpoints.get(int(p["endpoint_id"]))
        if hook is None:
            raise SendFailed("webhook endpoint removed or disabled", permanent=True)
        await send_webhook(url=hook[0], secret=hook[1], event=p["event"], send_key=message.send_key)
    else:
        await _inapp(message)


async def _hooks(ids: set[int]) -> dict[int, Hook]:
    """The city's active endpoints among ``ids``, each secret decrypted once."""
    if not ids:
        return {}
    rows = await WebhookEndpoint.filter(id__in=ids, is_active=True)
    return {e.id: (e.url, decrypt(e.secret_enc)) for e in rows}


async def _attempt(
    message: outbox.OutboxMessage, at: datetime, endpoints: dict[int, Hook] | None = None
) -> str:
    """One delivery attempt; a failure or a deferral is settled here, a success is not
    (the caller marks successes sent, one by one or a batch at once). With traces on it
    continues the trace of the change that wrote the message (docs/operations.md)."""
    parent = message.payload.pop(tracing.CARRIER_KEY, None)
    with tracing.span(
        f"outbox {message.kind}",
        parent=parent if isinstance(parent, dict) else None,
        kind=tracing.CONSUMER,
        attributes={"hotline.outbox.kind": message.kind, "hotline.city_id": message.tenant_id or 0},
    ):
        return await _attempt_untraced(message, at, endpoints)


def _held_until(message: outbox.OutboxMessage, at: datetime) -> datetime | None:
    """When an SMS held back by the citizen's quiet hours may go; None: now."""
    if message.kind != Channel.SMS.value:
        return None
    return quiet_until(at, message.payload.get("timezone", "Asia/Shanghai"))


async def _attempt_untraced(
    message: outbox.OutboxMessage, at: datetime, endpoints: dict[int, Hook] | None
) -> str:
    morning = _held_until(message, at)
    if morning is not None:
        await outbox.defer(message, morning)
        return "deferred"
    try:
        if message.kind in _CHANNELS:  # ours: with the batch's endpoints read once
            await _send(message, endpoints)
        else:  # another part's kind (route, …): hotline.outbox_handlers
            await outbox.handler_for(message.kind)(message)
    except Exception as exc:  # any failure of a channel is one failed attempt, never a crash
        outcome = await outbox.mark_failed(
            message,
            f"{type(exc).__name__}: {exc}",
            base=timedelta(seconds=get_delivery_settings().outbox_base_delay_seconds),
            permanent=(isinstance(exc, SendFailed) and exc.permanent)
            or isinstance(exc, outbox.UnknownKind),
        )
        log.warning(
            "outbox.failed",
            outbox_id=message.id,
            kind=message.kind,
            attempts=outcome.attempts,
            status=outcome.status.value,
            error=str(exc)[:200],
        )
        return "dead" if outcome.status is outbox.OutboxStatus.DEAD else "retry"
    return "sent"


async def deliver_outbox(*, outbox_id: int, now: datetime | None = None) -> str:
    """Deliver one message; returns what happened: sent | retry | dead | deferred | settled."""
    message = await outbox.claim_for_delivery(outbox_id)
    if message is None:
        return "settled"
    result = await _attempt(message, now or clock.now())
    if result == "sent":
        await outbox.mark_sent(message)
    return result


# Messages of one batch in flight at once (each waits mostly on its channel's network).
# A worker runs several batch jobs at once; more than a few per job only adds queueing.
BATCH_CONCURRENCY = 4


async def deliver_batch(
    *, outbox_ids: list[int], now: datetime | None = None, concurrency: int | None = None
) -> dict[str, int]:
    """Deliver a batch of the current city's messages: one query reads them (and one their
    webhook endpoints), ``concurrency`` are sent at once over the process's keep-alive
    connections, one statement settles the delivered ones. Returns a count per outcome.

    The same guarantees as one by one: a message settled meanwhile is skipped, and a
    worker dying before the settling statement leaves the batch pending, so it is sent
    again with the same send keys (which the receivers deduplicate).
    """
    messages = await outbox.claim_many_for_delivery(outbox_ids)
    counts = {"settled": len(set(outbox_ids)) - len(messages)}
    endpoints = await _hooks(
        {int(m.payload["endpoint_id"]) for m in messages if m.kind == Channel.WEBHOOK}
    )
    at = now or clock.now()
    # SMS held back by quiet hours (all of a night's): postponed together, not one by one
    held = {m.id: until for m in messages if (until := _held_until(m, at)) is not None}
    if held:
        await outbox.defer_many(held)
        counts["deferred"] = len(held)
        messages = [m for m in messages if m.id not in held]
    gate = asyncio.Semaphore(concurrency or BATCH_CONCURRENCY)

    async def one(message: outbox.OutboxMessage) -> str:
        async with gate:
            return await _attempt(message, at, endpoints)

    results = await asyncio.gather(*(one(m) for m in messages))
    await outbox.mark_sent_many([m for m, r in zip(messages, results, strict=True) if r == "sent"])
    for result in results:
        counts[result] = counts.get(result, 0) + 1
    return counts
