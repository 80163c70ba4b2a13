from __future__ import annotations

import strawberry
from strawberry import relay

from hotline.schema.context import Info
from hotline.schema.departments.types import ContactInput, Department, DepartmentKind
from hotline.schema.errors import Error, payload_errors
from hotline.schema.ids import decode_id
from hotline.tenants.departments import service


@strawberry.type
class DepartmentPayload:
    department: Department | None
    errors: list[Error]


@strawberry.type
class DeactivateDepartmentPayload:
    deactivated_count: int
    errors: list[Error]


@strawberry.input
class CreateDepartmentInput:
    parent_id: relay.GlobalID
    kind: DepartmentKind
    name: str
    code: str | None = None
    contacts: list[ContactInput] | None = None
    duty_hours: str = ""
    is_duty_room: bool | None = None
    function: str | None = strawberry.field(
        default=None, description="The catalogue function (departmentFunctions), e.g. tax."
    )


@strawberry.input
class UpdateDepartmentInput:
    department_id: relay.GlobalID
    name: str | None = None
    contacts: list[ContactInput] | None = None
    duty_hours: str | None = None
    is_duty_room: bool | None = None
    function: str | None = strawberry.field(
        default=None, description="The catalogue function; an empty string clears it."
    )


def _contacts(items: list[ContactInput] | None) -> list[dict[str, str | None]] | None:
    return None if items is None else [vars(c) for c in items]


@strawberry.type
class DepartmentMutations:
    @strawberry.mutation
    async def create_department(
        self, info: Info, input: CreateDepartmentInput
    ) -> DepartmentPayload:
        async def call() -> Department:
            row = await service.create_department(
                actor=info.context.actor,
                parent_id=decode_id(input.parent_id, "Department", field="parentId"),
                kind=input.kind,
                name=input.name,
                code=input.code,
                contacts=_contacts(input.contacts),
                duty_hours=input.duty_hours,
                is_duty_room=input.is_duty_room,
                function=input.function,
            )
            return Department.from_model(row)

        department, errors = await payload_errors(call)
        return DepartmentPayload(department=department, errors=errors)

    @strawberry.mutation
    async def update_department(
        self, info: Info, input: UpdateDepartmentInput
    ) -> DepartmentPayload:
        async def call() -> Department:
            row = await service.update_department(
                actor=info.context.actor,
                department_id=decode_id(input.department_id, "Department", field="departmentId"),
                name=input.name,
                contacts=_contacts(input.contacts),
                duty_hours=input.duty_hours,
                is_duty_room=input.is_duty_room,
                function=input.function,
            )
            return Department.from_model(row)

        department, errors = await payload_errors(call)
        return DepartmentPayload(department=department, errors=errors)

    @strawberry.mutation(description="Re-hang a department with its whole subtree.")
    async def move_department(
        self, info: Info, department_id: relay.GlobalID, new_parent_id: relay.GlobalID
    ) -> DepartmentPayload:
        async def call() -> Department:
            row = await service.move_department(
                actor=info.context.actor,
                department_id=decode_id(department_id, "Department", field="departmentId"),
                new_parent_id=decode_id(new_parent_id, "Department", field="newParentId"),
            )
            return Department.from_model(row)

        department, errors = await payload_errors(call)
        return DepartmentPayload(department=department, errors=errors)

    @strawberry.mutation(description="Deactivate a department and its subtree; history stays.")
    async def deactivate_department(
        self, info: Info, department_id: relay.GlobalID
    ) -> DeactivateDepartmentPayload:
        count, errors = await payload_errors(
            lambda: service.deactivate_department(
                actor=info.context.actor,
                department_id=decode_id(department_id, "Department", field="departmentId"),
            )
        )
        return DeactivateDepartmentPayload(deactivated_count=count or 0, errors=errors)
