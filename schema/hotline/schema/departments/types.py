from __future__ import annotations

from datetime import datetime
from typing import Self

import strawberry
from strawberry import relay

from hotline.schema.context import Info
from hotline.schema.loaders import by_key, loader
from hotline.tenants.departments import models

DepartmentKind = models.DepartmentKind
strawberry.enum(models.DepartmentKind, name="DepartmentKind")


@strawberry.type
class Contact:
    name: str
    phone: str | None = None
    email: str | None = None


@strawberry.input
class ContactInput:
    name: str
    phone: str | None = None
    email: str | None = None


async def load_departments(keys: list[int]) -> list[models.Department | None]:
    rows = await models.Department.filter(id__in=keys)
    return by_key(rows, keys, lambda r: r.id)


@strawberry.type
class Department(relay.Node):
    id: relay.NodeID[int]
    name: str
    kind: DepartmentKind
    code: str | None
    depth: int
    contacts: list[Contact]
    duty_hours: str
    is_duty_room: bool
    is_active: bool
    deactivated_at: datetime | None
    function: str | None = strawberry.field(
        description="Its function in the province catalogue (departmentFunctions)."
    )
    parent_id: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, row: models.Department) -> Self:
        return cls(
            id=row.id,
            name=row.name,
            kind=row.kind,
            code=row.code,
            depth=row.depth,
            contacts=[Contact(**c) for c in row.contacts],
            duty_hours=row.duty_hours,
            is_duty_room=row.is_duty_room,
            is_active=row.is_active,
            deactivated_at=row.deactivated_at,
            function=row.function,
            parent_id=row.parent_id,
        )

    @strawberry.field
    async def parent(self, info: Info) -> Department | None:
        if self.parent_id is None:
            return None
        row = await loader(info, "department", load_departments).load(self.parent_id)
        return Department.from_model(row) if row else None

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: list[str], required: bool = False
    ) -> list[Department | None]:
        keys = [int(k) for k in node_ids]
        rows = await loader(info, "department", load_departments).load_many(keys)
        return [Department.from_model(r) if r else None for r in rows]
