from __future__ import annotations

import strawberry
from strawberry import relay

from hotline.schema.context import Info
from hotline.schema.departments.types import Department, DepartmentKind
from hotline.schema.ids import decode_id
from hotline.schema.pagination import Connection, build_connection, decode_cursor, page_size
from hotline.schema.permissions import can
from hotline.tenants.departments import service
from hotline.tenants.kernel.access import Action


@strawberry.type
class DepartmentQueries:
    @strawberry.field(
        permission_classes=[can(Action.DEPARTMENT_READ)],
        description=(
            "The city's departments: children of parentId, or the whole subtree under rootId; "
            "filtered by kind and a name/code search."
        ),
    )
    async def departments(
        self,
        info: Info,
        parent_id: relay.GlobalID | None = None,
        root_id: relay.GlobalID | None = None,
        kind: DepartmentKind | None = None,
        search: str | None = None,
        include_inactive: bool = False,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Department]:
        size = page_size(first)
        rows = await service.list_departments(
            actor=info.context.actor,
            parent_id=decode_id(parent_id, "Department", field="parentId") if parent_id else None,
            root_id=decode_id(root_id, "Department", field="rootId") if root_id else None,
            kind=kind,
            search=search,
            include_inactive=include_inactive,
            limit=size + 1,
            after_id=decode_cursor(after),
        )
        return build_connection(rows, size, lambda r: r.id, Department.from_model, after=after)

    @strawberry.field(permission_classes=[can(Action.DEPARTMENT_READ)])
    async def department(self, info: Info, id: relay.GlobalID) -> Department:
        row = await service.access_department(
            actor=info.context.actor, department_id=decode_id(id, "Department", field="id")
        )
        return Department.from_model(row)
