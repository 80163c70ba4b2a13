"""Notification administration and a user's in-app notices (keyword-only, the writers)."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from hotline.platform import clock, outbox
from hotline.platform.crypto import encrypt
from hotline.platform.senders.config import get_delivery_settings
from hotline.platform.senders.errors import SendFailed
from hotline.platform.senders.webhook import check_destination
from hotline.platform.tenancy import current_tenant_id
from hotline.tenants.accounts.models import Membership
from hotline.tenants.departments.models import Department
from hotline.tenants.kernel.access import Action, Actor, require
from hotline.tenants.kernel.errors import Invalid, NotFound, PermissionDenied
from hotline.tenants.notifications.models import (
    Channel,
    Notice,
    NotificationPreference,
    NotificationTemplate,
    WebhookEndpoint,
)
from hotline.tenants.notifications.rules import EVENT_NAMES
from hotline.tenants.notifications.templates import check_template

MAX_PAGE = 100


def _signed_in(actor: Actor) -> int:
    if actor.user_id is None:
        raise PermissionDenied("sign in to read notices")
    return actor.user_id


# Dead letters -------------------------------------------------------------------------


async def dead_letters(
    *, actor: Actor, first: int, after_id: int | None = None
) -> list[outbox.OutboxMessage]:
    """The city's undeliverable messages, newest first (``first + 1`` rows for paging)."""
    require(actor, Action.NOTIFICATION_MANAGE)
    return await outbox.dead_letters(
        tenant_id=current_tenant_id(), limit=first + 1, after_id=after_id
    )


async def retry_dead_letter(*, actor: Actor, outbox_id: int) -> outbox.OutboxMessage:
    require(actor, Action.NOTIFICATION_MANAGE)
    row = await outbox.retry_dead(tenant_id=current_tenant_id(), outbox_id=outbox_id)
    if row is None:
        raise NotFound("dead letter", field="id")
    return row


# In-app notices -------------------------------------------------------------------------


async def my_notices(
    *, actor: Actor, first: int, after_id: int | None = None, unread_only: bool = False
) -> list[Notice]:
    query = Notice.filter(user_id=_signed_in(actor))
    if unread_only:
        query = query.filter(read_at=None)
    if after_id is not None:
        query = query.filter(id__lt=after_id)
    return await query.order_by("-id").limit(first + 1)


async def unread_count(*, actor: Actor) -> int:
    return await Notice.filter(user_id=_signed_in(actor), read_at=None).count()


async def mark_notices_read(*, actor: Actor, notice_ids: list[int] | None) -> int:
    """Mark the given notices (None: all) of the caller as read; returns how many changed."""
    query = Notice.filter(user_id=_signed_in(actor), read_at=None)
    if notice_ids is not None:
        if len(notice_ids) > MAX_PAGE:
            raise Invalid("at most {max} notices at a time", field="ids", max=MAX_PAGE)
        query = query.filter(id__in=notice_ids)
    return await query.update(read_at=clock.now())


# Webhook endpoints ----------------------------------------------------------------------


async def _check_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname or len(url) > 500:
        raise Invalid("the URL must be an http(s) URL of at most 500 characters", field="url")
    try:
        # The same rule delivery enforces on every connection: no internal addresses
        # (unless HOTLINE_WEBHOOK_ALLOW_PRIVATE). A name that does not resolve yet is
        # accepted; delivery checks it again when it connects.
        await check_destination(url.strip())
    except SendFailed as exc:
        if exc.permanent:
            raise Invalid(
                "the URL must point to a public address (not loopback, private or link-local)",
                field="url",
            ) from exc
    return url.strip()


def _check_events(event_types: list[str]) -> list[str]:
    if any(not e.startswith("ticket.") or len(e) > 60 for e in event_types):
        raise Invalid('event types look like "ticket.dispatch"', field="eventTypes")
    return sorted(set(event_types))


async def webhook_endpoints(*, actor: Actor) -> list[WebhookEndpoint]:
    require(actor, Action.NOTIFICATION_MANAGE)
    return await WebhookEndpoint.all().order_by("id")


async def create_webhook_endpoint(
    *, actor: Actor, name: str, url: str, event_types: list[str]
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret (shown once; stored encrypted)."""
    require(actor, Action.NOTIFICATION_MANAGE)
    if not name.strip() or len(name) > 100:
        raise Invalid("the name must be 1-100 characters", field="name")
    secret = "whsec_" + secrets.token_urlsafe(32)
    endpoint = await WebhookEndpoint.create(
        name=name.strip(),
        url=await _check_url(url),
        secret_enc=encrypt(secret),
        event_types=_check_events(event_types),
    )
    return endpoint, secret


async def update_webhook_endpoint(
    *,
    actor: Actor,
    endpoint_id: int,
    url: str | None = None,
    event_types: list[str] | None = None,
    is_active: bool | None = None,
) -> WebhookEndpoint:
    require(actor, Action.NOTIFICATION_MANAGE)
    endpoint = await WebhookEndpoint.get_or_none(id=endpoint_id)
    if endpoint is None:
        raise NotFound("webhook endpoint", field="id")
    if url is not None:
        endpoint.url = await _check_url(url)
    if event_types is not None:
        endpoint.event_types = _check_events(event_types)
    if is_active is not None:
        endpoint.is_active = is_active
    await endpoint.save()
    return endpoint


# Templates and preferences --------------------------------------------------------------


TEMPLATE_LOCALES = frozenset({"zh-CN", "en"})
EVENTS = EVENT_NAMES


def _check_event(event: str, *, wildcard: bool) -> None:
    if not (event in EVENTS or (wildcard and event == "*")):
        raise Invalid("event must be one of {choices}", field="event", choices=sorted(EVENTS))


async def set_template(
    *, actor: Actor, event: str, channel: Channel, locale: str, subject: str, body: str
) -> NotificationTemplate:
    require(actor, Action.NOTIFICATION_MANAGE)
    _check_event(event, wildcard=False)
    if locale not in TEMPLATE_LOCALES:
        raise Invalid(
            "locale must be one of {choices}", field="locale", choices=sorted(TEMPLATE_LOCALES)
        )
    check_template(
        channel=channel,
        subject=subject,
        body=body,
        sms_signature=get_delivery_settings().sms_signature,
    )
    row, _ = await NotificationTemplate.update_or_create(
        defaults={"subject": subject, "body": body}, event=event, channel=channel, locale=locale
    )
    return row


async def set_preference(
    *,
    actor: Actor,
    channel: Channel,
    enabled: bool,
    event: str = "*",
    department_id: int | None = None,
    user_id: int | None = None,
) -> NotificationPreference:
    """City- or department-wide switches are the admin's; anyone may set their own."""
    if user_id is None or user_id != actor.user_id:
        require(actor, Action.NOTIFICATION_MANAGE)
    _check_event(event, wildcard=True)
    if department_id is not None and not await Department.exists(id=department_id):
        raise NotFound("department", field="departmentId")
    if user_id is not None and not await Membership.exists(user_id=user_id, is_active=True):
        raise NotFound("user", field="userId")
    row, _ = await NotificationPreference.update_or_create(
        defaults={"enabled": enabled},
        event=event,
        channel=channel,
        department_id=department_id,
        user_id=user_id,
    )
    return row


async def my_notice(*, actor: Actor, notice_id: int) -> Notice | None:
    return await Notice.get_or_none(id=notice_id, user_id=_signed_in(actor))
