from __future__ import annotations

import strawberry
from strawberry import relay

from hotline.schema.categories.types import Category, RoutingRule
from hotline.schema.context import Info
from hotline.schema.ids import decode_id
from hotline.schema.permissions import can
from hotline.tenants.categories import service
from hotline.tenants.kernel.access import Action
from hotline.tenants.routing import service as routing


@strawberry.type
class CategoryQueries:
    @strawberry.field(
        permission_classes=[can(Action.CATEGORY_READ)],
        description="The city's categories in tree order (depth first), or the children of "
        "parentId; siblings by code at every level (uncoded ones last), then by id.",
    )
    async def categories(
        self, info: Info, parent_id: relay.GlobalID | None = None, include_inactive: bool = False
    ) -> list[Category]:
        rows = await service.list_categories(
            actor=info.context.actor,
            parent_id=decode_id(parent_id, "Category", field="parentId") if parent_id else None,
            include_inactive=include_inactive,
        )
        return [Category.from_model(r) for r in rows]

    @strawberry.field(permission_classes=[can(Action.CATEGORY_READ)])
    async def category(self, info: Info, id: relay.GlobalID) -> Category:
        row = await service.access_category(
            actor=info.context.actor, category_id=decode_id(id, "Category", field="id")
        )
        return Category.from_model(row)

    @strawberry.field(
        permission_classes=[can(Action.ROUTING_MANAGE)],
        description="Routing rules in the order they are tried.",
    )
    async def routing_rules(self, info: Info, include_inactive: bool = False) -> list[RoutingRule]:
        rows = await routing.list_routing_rules(
            actor=info.context.actor, include_inactive=include_inactive
        )
        return [RoutingRule.from_model(r) for r in rows]
