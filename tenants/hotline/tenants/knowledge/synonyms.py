"""Synonym groups per city and province-shared (户口/户籍, 医保/医疗保险): callers say one,
articles the other. A change re-indexes the affected articles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from hotline.platform.tenancy import use_scope
from hotline.tenants.kernel.access import Actor
from hotline.tenants.kernel.errors import Conflict, Invalid, NotFound, PermissionDenied
from hotline.tenants.knowledge import text as kbtext
from hotline.tenants.knowledge.indexing import reindex
from hotline.tenants.knowledge.models import (
    SynonymGroup,
)
from hotline.tenants.knowledge.owners import (
    MAX_ITEM,
    MAX_SYNONYM_GROUPS,
    MAX_SYNONYMS,
    Owner,
    audit,
    owner_of,
)


@dataclass(frozen=True)
class SynonymView:
    group: SynonymGroup

    @property
    def shared(self) -> bool:
        return self.group.tenant_id is None


def _synonym_terms(terms: Sequence[str]) -> list[str]:
    clean = list(dict.fromkeys(kbtext.normalize(t).strip() for t in terms if t.strip()))
    if not 2 <= len(clean) <= MAX_SYNONYMS:
        raise Invalid("a group has 2 to {max} different words", field="terms", max=MAX_SYNONYMS)
    for term in clean:
        if not 2 <= len(term) <= MAX_ITEM or any(ch.isspace() for ch in term):
            raise Invalid(
                "a word has 2 to {max} characters, no spaces", field="terms", max=MAX_ITEM
            )
    return clean


def _own_groups(owner: Owner) -> Q:
    return Q(tenant_id=owner.tenant_id, province_id=owner.province_id)


async def _check_overlap(owner: Owner, terms: Sequence[str], *, skip: int | None) -> None:
    """A word belongs to one group of a list: two groups sharing it are one group."""
    groups = SynonymGroup.filter(_own_groups(owner))
    if skip is not None:
        groups = groups.exclude(id=skip)
    taken = {t for g in await groups for t in g.terms}
    clash = [t for t in terms if t in taken]
    if clash:
        raise Conflict("already in another group: {words}", field="terms", words=clash)


async def list_synonym_groups(*, actor: Actor, province_id: int | None = None) -> list[SynonymView]:
    """The city's groups and its province's shared ones; with ``province_id`` and no
    city selected, the province's shared groups."""
    owner = owner_of(actor, province_id, write=False)
    with use_scope(owner.scope):
        rows = await SynonymGroup.filter(owner.visible()).order_by("id")
    return [SynonymView(r) for r in rows]


async def _synonym_group(owner: Owner, group_id: int) -> SynonymGroup:
    """A group of the owner's own list, locked; another city's is not found, the
    province's shared one (seen from a city) is the province's to change."""
    seen = await SynonymGroup.filter(owner.visible(), id=group_id).first()
    if seen is None:
        raise NotFound("synonym group", field="id")
    if seen.tenant_id != owner.tenant_id:
        raise PermissionDenied("province-shared synonyms are managed by the province")
    group = await SynonymGroup.filter(id=group_id).select_for_update().first()
    if group is None:
        raise NotFound("synonym group", field="id")
    return group


async def create_synonym_group(
    *, actor: Actor, terms: Sequence[str], province_id: int | None = None
) -> SynonymView:
    """A group of the city's list, or of the province's shared list (``province_id``);
    re-indexes the articles it applies to."""
    owner = owner_of(actor, province_id, write=True)
    clean = _synonym_terms(terms)
    with use_scope(owner.scope):
        async with in_transaction("default"):
            if await SynonymGroup.filter(_own_groups(owner)).count() >= MAX_SYNONYM_GROUPS:
                raise Invalid(
                    "at most {max} groups per list", field="terms", max=MAX_SYNONYM_GROUPS
                )
            await _check_overlap(owner, clean, skip=None)
            group = await SynonymGroup.create(
                province_id=owner.province_id, tenant_id=owner.tenant_id, terms=clean
            )
        await reindex(owner.province_id, tenant_id=owner.tenant_id)
    await audit(actor, owner, "knowledge.synonyms_create", group.id)
    return SynonymView(group)


async def update_synonym_group(
    *, actor: Actor, group_id: int, terms: Sequence[str], province_id: int | None = None
) -> SynonymView:
    """Replace a group's words; re-indexes."""
    owner = owner_of(actor, province_id, write=True)
    clean = _synonym_terms(terms)
    with use_scope(owner.scope):
        async with in_transaction("default"):
            group = await _synonym_group(owner, group_id)
            if group.terms == clean:
                return SynonymView(group)
            await _check_overlap(owner, clean, skip=group.id)
            group.terms = clean
            await group.save(update_fields=["terms", "updated_at"])
        await reindex(owner.province_id, tenant_id=owner.tenant_id)
    await audit(actor, owner, "knowledge.synonyms_update", group.id)
    return SynonymView(group)


async def delete_synonym_group(
    *, actor: Actor, group_id: int, province_id: int | None = None
) -> int:
    """Remove a group; re-indexes. Answers the removed group's id."""
    owner = owner_of(actor, province_id, write=True)
    with use_scope(owner.scope):
        async with in_transaction("default"):
            group = await _synonym_group(owner, group_id)
            await group.delete()
        await reindex(owner.province_id, tenant_id=owner.tenant_id)
    await audit(actor, owner, "knowledge.synonyms_delete", group_id)
    return group_id
