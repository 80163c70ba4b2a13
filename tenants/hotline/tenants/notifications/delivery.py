"""Delivering one outbox message on its channel (run by a worker job in the message's city).

At-least-once: a message is marked sent only after its channel accepted it, so a crash
in between sends it again, with the same send key, which the receiver deduplicates
(webhooks and the SMS gateway: ``Idempotency-Key``; e-mail: ``Message-ID``; in-app:
a unique key on the notice).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import structlog
from tortoise.transactions import in_transaction

from hotline.platform import outbox, pubsub
from hotline.platform.crypto import decrypt
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


async def _inapp(message: outbox.OutboxMessage) -> None:
    p = message.payload
    async with in_transaction() as conn:
        rows = await conn.execute_query_dict(
            "INSERT INTO notices (tenant_id, province_id, user_id, event, title, body, ticket_id,"
            " send_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())"
            " ON CONFLICT (tenant_id, send_key) DO NOTHING RETURNING id",
            [
                message.tenant_id,
                message.province_id,
                p["user_id"],
                p["event"],
                p["subject"][:200],
                p["body"],
                p.get("ticket_id"),
                message.send_key,
            ],
        )
    if rows:  # a redelivery inserted nothing and pushes nothing
        assert message.tenant_id is not None
        await pubsub.publish(
            notice_channel(message.tenant_id, int(p["user_id"])), {"notice_id": rows[0]["id"]}
        )


async def send(message: outbox.OutboxMessage) -> None:
    """The outbox handler of the notification channels (sms, email, webhook, inapp)."""
    p = message.payload
    kind = Channel(message.kind)
    if kind is Channel.SMS:
        await send_sms(to=decrypt(p["to_enc"]), text=p["text"], send_key=message.send_key)
    elif kind is Channel.EMAIL:
        await send_email(
            to=p["to"], subject=p["subject"], body=p["body"], send_key=message.send_key
        )
    elif kind is Channel.WEBHOOK:
        endpoint = await WebhookEndpoint.get_or_none(id=p["endpoint_id"], is_active=True)
        if endpoint is None:
            raise SendFailed("webhook endpoint removed or disabled", permanent=True)
        await send_webhook(
            url=endpoint.url,
            secret=decrypt(endpoint.secret_enc),
            event=p["event"],
            send_key=message.send_key,
        )
    else:
        await _inapp(message)


async def deliver_outbox(*, outbox_id: int, now: datetime | None = None) -> str:
    """Deliver one message; returns what happened: sent | retry | dead | deferred | settled."""
    message = await outbox.claim_for_delivery(outbox_id)
    if message is None:
        return "settled"
    at = now or datetime.now(UTC)
    if message.kind == Channel.SMS.value:
        morning = quiet_until(at, message.payload.get("timezone", "Asia/Shanghai"))
        if morning is not None:
            await outbox.defer(message, morning)
            return "deferred"
    try:
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
    await outbox.mark_sent(message)
    return "sent"
