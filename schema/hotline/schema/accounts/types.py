from __future__ import annotations

from datetime import datetime
from typing import Self

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from hotline.schema.context import Info
from hotline.schema.departments.types import Department, load_departments
from hotline.schema.loaders import loader
from hotline.schema.provinces.types import Tenant, load_tenants
from hotline.tenants.accounts import models
from hotline.tenants.kernel import audit, roles

Role = roles.Role
strawberry.enum(roles.Role, name="Role")
_KNOWN_ROLES = frozenset(role.value for role in Role)


@strawberry.type
class Membership(relay.Node):
    id: relay.NodeID[int]
    role: Role
    is_active: bool
    created_at: datetime
    user_id: strawberry.Private[int]
    tenant_id: strawberry.Private[int]
    department_id: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, row: models.Membership) -> Self:
        return cls(
            id=row.id,
            role=row.role,
            is_active=row.is_active,
            created_at=row.created_at,
            user_id=row.user_id,
            tenant_id=row.tenant_id,
            department_id=row.department_id,
        )

    @strawberry.field
    async def tenant(self, info: Info) -> Tenant:
        row = await loader(info, "tenant", load_tenants).load(self.tenant_id)
        assert row is not None  # a membership's city always exists (FK)
        return Tenant.from_model(row)

    @strawberry.field(description="The department subtree the role is limited to, if any.")
    async def department(self, info: Info) -> Department | None:
        if self.department_id is None or info.context.actor.tenant_id != self.tenant_id:
            return None
        row = await loader(info, "department", load_departments).load(self.department_id)
        return Department.from_model(row) if row else None


@strawberry.type
class User(relay.Node):
    id: relay.NodeID[int]
    username: str
    display_name: str
    email: str | None
    locale: str
    is_active: bool
    totp_enabled: bool
    created_at: datetime

    @classmethod
    def from_model(cls, row: models.User) -> Self:
        return cls(
            id=row.id,
            username=row.username,
            display_name=row.display_name,
            email=row.email,
            locale=row.locale,
            is_active=row.is_active,
            totp_enabled=row.totp_enabled,
            created_at=row.created_at,
        )


@strawberry.type(description="The caller: who it is and where it may work.")
class Me:
    user: User | None
    memberships: list[Membership]
    province_admin_of: list[relay.GlobalID]
    platform_operator: bool
    current_tenant: Tenant | None
    roles: list[Role]


@strawberry.type
class ApiKey(relay.Node):
    id: relay.NodeID[int]
    name: str
    prefix: str
    roles: list[str] = strawberry.field(
        description="The key's roles as stored (lower case, `agent`).",
        deprecation_reason="Use grantedRoles: the Role enum, as me.roles answers.",
    )
    granted_roles: list[Role] = strawberry.field(
        description="The key's roles, in the same enum as `me.roles` (`AGENT`)."
    )
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def from_model(cls, row: models.ApiKey) -> Self:
        return cls(
            id=row.id,
            name=row.name,
            prefix=row.prefix,
            roles=list(row.roles),
            # Stored as the enum's values; a role no longer known grants nothing
            # (actor_for_api_key skips it too), so it is not shown.
            granted_roles=sorted(Role(r) for r in row.roles if r in _KNOWN_ROLES),
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
        )


@strawberry.type
class AuditEvent(relay.Node):
    id: relay.NodeID[int]
    created_at: datetime
    actor_id: int | None
    action: str
    target: str
    detail: JSON

    @classmethod
    def from_model(cls, row: audit.AuditEvent) -> Self:
        return cls(
            id=row.id,
            created_at=row.created_at,
            actor_id=row.actor_id,
            action=row.action,
            target=row.target,
            detail=row.detail,
        )


@strawberry.type
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int = strawberry.field(description="Seconds until the access token expires.")
    totp_enrolment_required: bool
