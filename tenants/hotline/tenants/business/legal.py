"""Legal services (docs/business.md, "Legal services"): law firms and legal-aid centers
are departments of the functions ``law_firm`` and ``legal_aid`` (departments/
functions.json), registered like any department. A legal request reaches the
enterprise's service manager first, who dispatches it to one of them through the very
same ``dispatch_request`` — the provider then signs for, replies, asks for extensions and
is supervised as any assignee; the enterprise rates the outcome."""

from __future__ import annotations

import enum

from hotline.tenants.business.access import city_scope, require_business
from hotline.tenants.business.models import RequestTopic
from hotline.tenants.business.requests import Request, access_request, dispatch_request
from hotline.tenants.departments.models import Department
from hotline.tenants.kernel.access import Action, Actor
from hotline.tenants.kernel.errors import Invalid, NotFound


class ProviderKind(enum.StrEnum):
    LAW_FIRM = "law_firm"  # 律师事务所
    LEGAL_AID = "legal_aid"  # 法律援助中心 (free, for the small and micro)


LEGAL_FUNCTIONS = tuple(k.value for k in ProviderKind)


async def providers(*, actor: Actor, kind: ProviderKind | None = None) -> list[Department]:
    """The city's active legal service providers: legal-aid centers first, then law firms."""
    await require_business(actor, Action.ENTERPRISE_READ)
    wanted = [kind.value] if kind is not None else list(LEGAL_FUNCTIONS)
    with city_scope(actor):
        rows = await Department.filter(function__in=wanted, is_active=True).order_by("name", "id")
    return sorted(rows, key=lambda d: (d.function != ProviderKind.LEGAL_AID.value,))


async def dispatch_legal_request(
    *, actor: Actor, request_id: int, provider_id: int, reason: str = ""
) -> Request:
    """The manager sends a legal request to a law firm or legal-aid center: an ordinary
    dispatch with the provider as the lead department."""
    await require_business(actor, Action.BUSINESS_REQUEST_HANDLE)
    got = await access_request(actor=actor, request_id=request_id)
    with city_scope(actor):
        provider = await Department.get_or_none(id=provider_id, is_active=True)
    if provider is None or provider.function not in LEGAL_FUNCTIONS:
        raise NotFound("legal service provider", field="providerId")
    if got.request.topic is not RequestTopic.LEGAL:
        raise Invalid("only a legal request goes to a legal service provider", field="id")
    return await dispatch_request(
        actor=actor, request_id=request_id, lead_department_id=provider.id, reason=reason
    )
