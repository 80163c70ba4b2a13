"""Public disclosure: a city publishes its monthly figures and anonymized closed cases;
anyone reads them without logging in (docs/statistics.md, "Public disclosure").

Publishing snapshots: a published month keeps the figures as they were published, a
published case keeps only its redacted text (:mod:`.redaction`) — no citizen, no
number, no evidence — so the public reads tables that hold nothing personal.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hotline.platform import clock
from hotline.platform.crypto import decrypt
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.categories.models import Category
from hotline.tenants.kernel.access import Action, Actor, require
from hotline.tenants.kernel.errors import Conflict, Invalid, NotFound
from hotline.tenants.provinces.models import Tenant
from hotline.tenants.statistics import dashboard
from hotline.tenants.statistics.aggregates import local_day
from hotline.tenants.statistics.models import PublishedCase, PublishedMonth
from hotline.tenants.statistics.redaction import redact
from hotline.tenants.tickets.access import access_ticket
from hotline.tenants.tickets.models import Status

# The published figures (docs/statistics.md gives each formula).
PUBLIC_FIGURES = (
    "received",
    "direct_answered",
    "direct_answer_rate",
    "replied_on_time_rate",
    "satisfaction_rate",
    "handling_rate",
    "completion_rate",
    "connection_rate",
)


def month_bounds(month: date) -> tuple[date, date]:
    first = month.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


async def publish_month(*, actor: Actor, month: date) -> PublishedMonth:
    """Snapshot the city's figures of an ended month (publishing again replaces them)."""
    require(actor, Action.DISCLOSURE_PUBLISH)
    if actor.tenant_id is None:
        raise NotFound("city")
    tenant = await Tenant.get(id=actor.tenant_id)
    first, last = month_bounds(month)
    if last >= local_day(clock.now(), str(tenant.timezone)):
        raise Invalid("only an ended month can be published", field="month")
    report = await dashboard.city_statistics(actor=actor, first=first, last=last)
    f = report.figures
    figures: dict[str, Any] = {
        "received": f.totals.received,
        "direct_answered": f.totals.direct_answered,
        "direct_answer_rate": f.direct_answer_rate,
        "replied_on_time_rate": f.replied_on_time_rate,
        "satisfaction_rate": f.satisfaction_rate,
        "handling_rate": f.handling_rate,
        "completion_rate": f.completion_rate,
        "connection_rate": report.calls.figures.connection_rate if report.calls else None,
    }
    row, _ = await PublishedMonth.update_or_create(
        month=first,
        tenant_id=tenant.id,
        defaults={
            "province_id": tenant.province_id,
            "figures": figures,
            "published_by": actor.user_id,
            "published_at": clock.now(),
        },
    )
    return row


async def publish_case(*, actor: Actor, ticket_id: int) -> PublishedCase:
    """Publish a closed, non-confidential ticket's redacted text (again: re-redacted)."""
    require(actor, Action.DISCLOSURE_PUBLISH)
    ticket = await access_ticket(actor=actor, ticket_id=ticket_id)
    if ticket.status != Status.CLOSED or ticket.confidential:
        raise Conflict("only a closed case that is not confidential is published", field="ticketId")
    tenant = await Tenant.get(id=ticket.tenant_id)
    names = [decrypt(ticket.citizen_name_enc)] if ticket.citizen_name_enc else []
    addresses = [ticket.address] if ticket.address else []
    category = await Category.get_or_none(id=ticket.category_id) if ticket.category_id else None
    received = local_day(ticket.received_at, str(tenant.timezone))
    row, _ = await PublishedCase.update_or_create(
        ticket_id=ticket.id,
        tenant_id=ticket.tenant_id,
        defaults={
            "province_id": ticket.province_id,
            "month": received.replace(day=1),
            "category": category.name if category else "",
            "kind": str(ticket.kind),
            "title": redact(ticket.title, names=names, addresses=addresses)[:200],
            "content": redact(ticket.content, names=names, addresses=addresses),
            "reply": redact(ticket.public_reply, names=names, addresses=addresses),
            "published_by": actor.user_id,
            "published_at": clock.now(),
        },
    )
    return row


async def public_city(slug: str) -> Tenant:
    """An active city by its slug, or NotFound (the public's only way in)."""
    with use_scope(Scope.platform()):
        tenant = await Tenant.get_or_none(slug=slug.strip().lower(), is_active=True)
    if tenant is None:
        raise NotFound("city", field="city")
    return tenant


async def public_months(tenant: Tenant, *, limit: int = 12) -> list[PublishedMonth]:
    """The city's latest published months, oldest first."""
    with use_scope(Scope.city(tenant.id, tenant.province_id)):
        rows = await PublishedMonth.all().order_by("-month").limit(limit)
    return sorted(rows, key=lambda r: r.month)


async def public_cases(tenant: Tenant, *, limit: int = 20) -> list[PublishedCase]:
    with use_scope(Scope.city(tenant.id, tenant.province_id)):
        return await PublishedCase.all().order_by("-month", "-id").limit(limit)
