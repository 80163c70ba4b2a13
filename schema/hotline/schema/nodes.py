"""Relay's ``node(id:)`` and ``nodes(ids:)`` (docs/frontend.md).

Each type a global id may name is fetched through the same access function (and the same
permission) as its own query, so a node of another city, or one the caller may not see,
is ``null`` with a ``NOT_FOUND`` error, exactly like ``ticket(id:)``; it never yields
data. Types not listed here cannot be fetched by id and answer ``NOT_FOUND`` too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from strawberry import relay

from hotline.schema.accounts.types import User
from hotline.schema.categories.types import Category
from hotline.schema.context import Info
from hotline.schema.departments.types import Department
from hotline.schema.evidence.types import Evidence
from hotline.schema.knowledge.types import Article
from hotline.schema.provinces.types import Province, Tenant
from hotline.schema.tickets.types import Assignment, Ticket
from hotline.tenants.accounts import directory
from hotline.tenants.categories import service as categories
from hotline.tenants.departments import service as departments
from hotline.tenants.evidence import access as evidence
from hotline.tenants.kernel.access import Action, Actor, require
from hotline.tenants.kernel.errors import AuthFailed, Invalid, NotFound
from hotline.tenants.knowledge import articles as knowledge
from hotline.tenants.provinces import service as provinces
from hotline.tenants.tickets.access import access_assignment, access_ticket

MAX_NODES = 100

Fetch = Callable[[Actor, int], Awaitable[Any]]


def _signed_in(actor: Actor) -> None:
    if actor.user_id is None and actor.api_key_id is None:
        raise AuthFailed("authentication required")


async def _ticket(actor: Actor, key: int) -> Ticket:
    require(actor, Action.TICKET_READ)
    return Ticket.from_model(await access_ticket(actor=actor, ticket_id=key))


async def _assignment(actor: Actor, key: int) -> Assignment:
    return Assignment.from_model(await access_assignment(actor=actor, assignment_id=key))


async def _department(actor: Actor, key: int) -> Department:
    require(actor, Action.DEPARTMENT_READ)
    row = await departments.access_department(actor=actor, department_id=key)
    return Department.from_model(row)


async def _category(actor: Actor, key: int) -> Category:
    require(actor, Action.CATEGORY_READ)
    return Category.from_model(await categories.access_category(actor=actor, category_id=key))


async def _user(actor: Actor, key: int) -> User:
    require(actor, Action.USER_READ)
    return User.from_model(await directory.access_city_user(actor=actor, user_id=key))


async def _article(actor: Actor, key: int) -> Article:
    _signed_in(actor)
    return Article.from_view(await knowledge.access_article(actor=actor, article_id=key))


async def _tenant(actor: Actor, key: int) -> Tenant:
    _signed_in(actor)
    return Tenant.from_model(await provinces.access_tenant(actor=actor, tenant_id=key))


async def _province(actor: Actor, key: int) -> Province:
    _signed_in(actor)
    return Province.from_model(await provinces.access_province(actor=actor, province_id=key))


async def _evidence(actor: Actor, key: int) -> Evidence:
    _signed_in(actor)
    return Evidence.from_model(await evidence.access_evidence(actor=actor, evidence_id=key))


FETCHERS: dict[str, Fetch] = {
    "Ticket": _ticket,
    "Assignment": _assignment,
    "Department": _department,
    "Category": _category,
    "User": _user,
    "Article": _article,
    "Tenant": _tenant,
    "Province": _province,
    "Evidence": _evidence,
}


async def fetch_node(actor: Actor, gid: relay.GlobalID) -> relay.Node:
    fetch = FETCHERS.get(gid.type_name)
    try:
        key = int(gid.node_id)
    except ValueError:
        fetch = None
    if fetch is None:
        raise NotFound("node", field="id")
    node: relay.Node = await fetch(actor, key)
    return node


@strawberry.type
class NodeQueries:
    @strawberry.field(
        description=(
            "Any object by its global id (Relay). Another city's id, or one you may not "
            "see, is null with a NOT_FOUND error."
        )
    )
    async def node(self, info: Info, id: relay.GlobalID) -> relay.Node | None:
        return await fetch_node(info.context.actor, id)

    @strawberry.field(
        description=(
            f"Objects by global ids, in order (at most {MAX_NODES}); each one not found "
            "is null with its own NOT_FOUND error."
        )
    )
    async def nodes(self, info: Info, ids: list[relay.GlobalID]) -> list[relay.Node | None]:
        if len(ids) > MAX_NODES:
            raise Invalid("at most {max} ids", field="ids", max=MAX_NODES)
        actor = info.context.actor
        # awaitables per item: graphql-core resolves each, and a failing one becomes null
        # with an error at its own path (nodes.3), the others keep their data
        return [fetch_node(actor, gid) for gid in ids]  # type: ignore[misc]
