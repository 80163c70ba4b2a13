"""Whose knowledge an operation touches: a city's own, or its province's shared articles
and lists — and the limits every knowledge operation checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from tortoise.expressions import Q

from hotline.platform import clock
from hotline.platform.tenancy import Scope
from hotline.tenants.kernel.access import Action, Actor, allowed, require
from hotline.tenants.kernel.audit import record_audit
from hotline.tenants.kernel.errors import Invalid
from hotline.tenants.provinces.models import Tenant

MAX_TITLE = 200


MAX_ANSWER = 20_000


MAX_LIST_ITEMS = 30


MAX_ITEM = 40


MAX_QUERY = 200


MAX_HITS = 50


MAX_WORDS_PER_CALL = 500


MAX_SYNONYMS = 20  # words in one group


MAX_SYNONYM_GROUPS = 2000  # per city or province


@dataclass(frozen=True)
class Owner:
    """Where an operation runs: a city (tenant_id set) or a province's shared articles."""

    tenant_id: int | None
    province_id: int
    scope: Scope
    manage: bool  # may see drafts and write

    def visible(self) -> Q:
        shared = Q(tenant_id=None, province_id=self.province_id)
        return shared if self.tenant_id is None else Q(tenant_id=self.tenant_id) | shared


def owner_of(actor: Actor, province_id: int | None, *, write: bool) -> Owner:
    if province_id is None:
        require(actor, Action.KNOWLEDGE_MANAGE if write else Action.KNOWLEDGE_READ)
        if actor.tenant_id is None or actor.province_id is None:
            raise Invalid("select a city, or give provinceId for shared articles")
        return Owner(
            tenant_id=actor.tenant_id,
            province_id=actor.province_id,
            scope=Scope.city(actor.tenant_id, actor.province_id, actor.user_id),
            manage=allowed(actor, Action.KNOWLEDGE_MANAGE),
        )
    action = Action.KNOWLEDGE_SHARED_MANAGE if write else Action.KNOWLEDGE_READ
    require(actor, action, province_id=province_id)
    if actor.tenant_id is not None:
        raise Invalid(
            "province-shared articles are managed with no city selected", field="provinceId"
        )
    return Owner(
        tenant_id=None,
        province_id=province_id,
        scope=Scope.province(province_id, actor.user_id),
        manage=allowed(actor, Action.KNOWLEDGE_SHARED_MANAGE, province_id=province_id),
    )


async def audit(actor: Actor, owner: Owner, action: str, target: object) -> None:
    await record_audit(
        actor_id=actor.user_id,
        action=action,
        target=str(target),
        tenant_id=owner.tenant_id,
        province_id=owner.province_id,
    )


async def city_today(owner: Owner) -> date:
    tenant = await Tenant.get(id=owner.tenant_id)
    return clock.now().astimezone(ZoneInfo(tenant.timezone)).date()
