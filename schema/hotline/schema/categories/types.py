from __future__ import annotations

from typing import Self

import strawberry
from strawberry import relay
from strawberry.dataloader import DataLoader
from strawberry.scalars import JSON

from hotline.schema.context import Info
from hotline.schema.departments.types import Department, load_departments
from hotline.schema.loaders import loader
from hotline.schema.tickets.resolve import now_or_later
from hotline.tenants.categories import models
from hotline.tenants.routing import models as routing_models
from hotline.tenants.tickets import reads


def category_loader(info: Info) -> DataLoader[int, models.Category | None]:
    actor = info.context.actor

    async def batch(keys: list[int]) -> list[models.Category | None]:
        return await reads.categories_by_ids(actor=actor, ids=keys)

    return loader(info, "category", batch)


def category_by_id(info: Info, key: int) -> Category | None:
    """The category as a GraphQL object, made once per request (a page of tickets names
    the same few categories and parents on every row)."""
    converted = info.context.converted
    made: Category | None = converted.get(("Category", key))
    if made is not None:
        return made

    def convert(row: models.Category | None) -> Category | None:
        if row is None:
            return None
        made = converted[("Category", key)] = Category.from_model(row)
        return made

    return now_or_later(category_loader(info), key, convert)


@strawberry.type
class Category(relay.Node):
    id: relay.NodeID[int]
    name: str
    code: str | None
    depth: int
    is_active: bool
    sla_overrides: JSON
    parent_id: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, row: models.Category) -> Self:
        return cls(
            id=row.id,
            name=row.name,
            code=row.code,
            depth=row.depth,
            is_active=row.is_active,
            sla_overrides=row.sla_overrides,
            parent_id=row.parent_id,
        )

    @strawberry.field
    def parent(self, info: Info) -> Category | None:
        if self.parent_id is None:
            return None
        return category_by_id(info, self.parent_id)


@strawberry.type
class RoutingRule(relay.Node):
    id: relay.NodeID[int]
    name: str
    priority: int
    keywords: list[str]
    is_active: bool
    area_id: strawberry.Private[int | None]
    category_id: strawberry.Private[int | None]
    department_id: strawberry.Private[int]

    @classmethod
    def from_model(cls, row: routing_models.RoutingRule) -> Self:
        return cls(
            id=row.id,
            name=row.name,
            priority=row.priority,
            keywords=list(row.keywords),
            is_active=row.is_active,
            area_id=row.area_id,
            category_id=row.category_id,
            department_id=row.department_id,
        )

    @strawberry.field
    async def area(self, info: Info) -> Department | None:
        if self.area_id is None:
            return None
        row = await loader(info, "department", load_departments).load(self.area_id)
        return Department.from_model(row) if row else None

    @strawberry.field
    async def category(self, info: Info) -> Category | None:
        if self.category_id is None:
            return None
        row = await category_loader(info).load(self.category_id)
        return Category.from_model(row) if row else None

    @strawberry.field
    async def department(self, info: Info) -> Department | None:
        row = await loader(info, "department", load_departments).load(self.department_id)
        return Department.from_model(row) if row else None
