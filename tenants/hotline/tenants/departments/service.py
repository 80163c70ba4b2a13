"""The department tree: create, move a subtree, deactivate, list and search."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationError
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from hotline.platform import clock
from hotline.platform.tenancy import current_tenant_id
from hotline.tenants.departments import functions
from hotline.tenants.departments.models import Department, DepartmentKind
from hotline.tenants.kernel.access import Action, Actor, require
from hotline.tenants.kernel.audit import record_audit
from hotline.tenants.kernel.errors import Conflict, Invalid, NotFound

# Which kinds may sit under which: the administrative hierarchy, with bureaus,
# utilities and duty rooms hanging off the center or a district.
ALLOWED_PARENTS: dict[DepartmentKind, frozenset[DepartmentKind]] = {
    DepartmentKind.CENTER: frozenset(),
    DepartmentKind.DISTRICT: frozenset({DepartmentKind.CENTER}),
    DepartmentKind.STREET: frozenset({DepartmentKind.DISTRICT}),
    DepartmentKind.COMMUNITY: frozenset({DepartmentKind.STREET}),
    DepartmentKind.BUREAU: frozenset(
        {DepartmentKind.CENTER, DepartmentKind.DISTRICT, DepartmentKind.BUREAU}
    ),
    DepartmentKind.UTILITY: frozenset(
        {DepartmentKind.CENTER, DepartmentKind.DISTRICT, DepartmentKind.UTILITY}
    ),
    DepartmentKind.DUTY_ROOM: frozenset({DepartmentKind.CENTER, DepartmentKind.DISTRICT}),
}


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=50)
    phone: str | None = Field(default=None, pattern=r"^[0-9+\-() ]{3,20}$")
    email: EmailStr | None = None


def _contacts(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    try:
        return [Contact.model_validate(c).model_dump(exclude_none=True) for c in raw]
    except ValidationError as exc:
        first = exc.errors()[0]
        raise Invalid(
            "contacts: {where}: {error}",
            field="contacts",
            where=".".join(map(str, first["loc"])),
            error=first["msg"],
        ) from exc


async def access_department(*, actor: Actor, department_id: int) -> Department:
    """A department of the current city, or NotFound (never "belongs to another city")."""
    require(actor, Action.DEPARTMENT_READ)
    department = await Department.get_or_none(id=department_id)
    if department is None:
        raise NotFound("department")
    return department


def _check_parent(kind: DepartmentKind, parent: Department | None) -> None:
    if parent is None:
        raise Invalid(
            "a department needs a parent (the center is created with the city)", field="parentId"
        )
    if parent.kind not in ALLOWED_PARENTS[kind]:
        raise Invalid(
            "a {kind} cannot be placed under a {parent}",
            field="parentId",
            kind=kind.value,
            parent=parent.kind.value,
        )
    if not parent.is_active:
        raise Invalid("the parent department is deactivated", field="parentId")


# A node's function when none is given: the tree's own levels have one by kind; a
# bureau or utility names its function (routing's catalogue, docs/routing.md).
_KIND_FUNCTIONS = {
    DepartmentKind.CENTER: "hotline_center",
    DepartmentKind.DISTRICT: "district_government",
    DepartmentKind.STREET: "street_office",
    DepartmentKind.COMMUNITY: "community",
    DepartmentKind.DUTY_ROOM: "duty_room",
}


def _function(code: str) -> str | None:
    if code and not functions.is_known(code):
        raise Invalid("unknown department function {function}", field="function", function=code)
    return code or None


async def create_department(
    *,
    actor: Actor,
    parent_id: int,
    kind: DepartmentKind,
    name: str,
    code: str | None = None,
    contacts: list[dict[str, Any]] | None = None,
    duty_hours: str = "",
    is_duty_room: bool | None = None,
    function: str | None = None,
) -> Department:
    require(actor, Action.DEPARTMENT_MANAGE)
    if not name.strip():
        raise Invalid("name must not be empty", field="name")
    parent = await Department.get_or_none(id=parent_id)
    if parent is None:
        raise NotFound("department", field="parentId")
    _check_parent(kind, parent)
    try:
        async with in_transaction("default"):
            department = await Department.create(
                parent=parent,
                kind=kind,
                name=name.strip(),
                code=code,
                contacts=_contacts(contacts or []),
                duty_hours=duty_hours,
                function=_function(function or "") or _KIND_FUNCTIONS.get(kind),
                is_duty_room=kind is DepartmentKind.DUTY_ROOM
                if is_duty_room is None
                else is_duty_room,
                path=parent.path,
                depth=parent.depth + 1,
            )
            department.path = f"{parent.path}{department.id}/"
            await department.save(update_fields=["path"])
    except IntegrityError as exc:
        raise Conflict("a department with this code exists", field="code") from exc
    await record_audit(
        actor_id=actor.user_id,
        action="department.create",
        target=str(department.id),
        tenant_id=department.tenant_id,
        province_id=department.province_id,
    )
    return department


async def update_department(
    *,
    actor: Actor,
    department_id: int,
    name: str | None = None,
    contacts: list[dict[str, Any]] | None = None,
    duty_hours: str | None = None,
    is_duty_room: bool | None = None,
    function: str | None = None,
) -> Department:
    require(actor, Action.DEPARTMENT_MANAGE)
    department = await access_department(actor=actor, department_id=department_id)
    changed: dict[str, Any] = {}
    if name is not None:
        if not name.strip():
            raise Invalid("name must not be empty", field="name")
        changed["name"] = name.strip()
    if contacts is not None:
        changed["contacts"] = _contacts(contacts)
    if duty_hours is not None:
        changed["duty_hours"] = duty_hours
    if is_duty_room is not None:
        changed["is_duty_room"] = is_duty_room
    if function is not None:
        changed["function"] = _function(function)  # "" clears it
    if changed:
        department.update_from_dict(changed)
        await department.save(update_fields=[*changed, "updated_at"])
    return department


async def move_department(*, actor: Actor, department_id: int, new_parent_id: int) -> Department:
    """Re-hang a department and its whole subtree; paths are rewritten in one statement."""
    require(actor, Action.DEPARTMENT_MANAGE)
    async with in_transaction("default") as conn:
        department = await Department.filter(id=department_id).select_for_update().first()
        parent = await Department.filter(id=new_parent_id).select_for_update().first()
        if department is None:
            raise NotFound("department", field="departmentId")
        if parent is None:
            raise NotFound("department", field="newParentId")
        if department.kind is DepartmentKind.CENTER:
            raise Invalid("the center cannot be moved", field="departmentId")
        if parent.path.startswith(department.path):
            raise Invalid("cannot move a department under its own subtree", field="newParentId")
        _check_parent(department.kind, parent)
        old_path = department.path
        new_path = f"{parent.path}{department.id}/"
        delta = parent.depth + 1 - department.depth
        await conn.execute_query(
            "UPDATE departments SET path = $1 || substr(path, $2), depth = depth + $3, "
            "updated_at = now() WHERE tenant_id = $4 AND path LIKE $5",
            [new_path, len(old_path) + 1, delta, current_tenant_id(), _like_prefix(old_path)],
        )
        await Department.filter(id=department.id).update(parent_id=parent.id)
    await record_audit(
        actor_id=actor.user_id,
        action="department.move",
        target=str(department.id),
        detail={"from": old_path, "to": new_path},
        tenant_id=department.tenant_id,
        province_id=department.province_id,
    )
    return await access_department(actor=actor, department_id=department_id)


def _like_prefix(path: str) -> str:
    return path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def deactivate_department(*, actor: Actor, department_id: int) -> int:
    """Deactivate a department and its subtree; rows stay for history. Returns the count."""
    require(actor, Action.DEPARTMENT_MANAGE)
    department = await access_department(actor=actor, department_id=department_id)
    if department.kind is DepartmentKind.CENTER:
        raise Invalid("the center cannot be deactivated", field="departmentId")
    count = await Department.filter(path__startswith=department.path, is_active=True).update(
        is_active=False, deactivated_at=clock.now()
    )
    await record_audit(
        actor_id=actor.user_id,
        action="department.deactivate",
        target=str(department.id),
        detail={"count": count},
        tenant_id=department.tenant_id,
        province_id=department.province_id,
    )
    return count


async def list_departments(
    *,
    actor: Actor,
    parent_id: int | None = None,
    root_id: int | None = None,
    kind: DepartmentKind | None = None,
    search: str | None = None,
    include_inactive: bool = False,
    limit: int = 200,
    after_id: int | None = None,
) -> list[Department]:
    """Children of ``parent_id``, or the subtree under ``root_id``, filtered; ordered by path."""
    require(actor, Action.DEPARTMENT_READ)
    query = Department.all()
    if parent_id is not None:
        query = query.filter(parent_id=parent_id)
    if root_id is not None:
        root = await access_department(actor=actor, department_id=root_id)
        query = query.filter(path__startswith=root.path)
    if kind is not None:
        query = query.filter(kind=kind)
    if search:
        text = search.strip()
        query = query.filter(Q(name__icontains=text) | Q(code__iexact=text))
    if not include_inactive:
        query = query.filter(is_active=True)
    if after_id is not None:
        query = query.filter(id__gt=after_id)
    return await query.order_by("id").limit(limit)
