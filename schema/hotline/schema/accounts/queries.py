from __future__ import annotations

import strawberry
from strawberry import relay

from hotline.schema.accounts.types import ApiKey, AuditEvent, Me, Membership, User
from hotline.schema.context import Info
from hotline.schema.ids import decode_id, encode_id
from hotline.schema.loaders import loader
from hotline.schema.pagination import Connection, build_connection, decode_cursor, page_size
from hotline.schema.permissions import can
from hotline.schema.provinces.types import Tenant, load_tenants
from hotline.tenants.accounts import directory
from hotline.tenants.accounts.models import User as UserRow
from hotline.tenants.kernel.access import Action


@strawberry.type
class AccountQueries:
    @strawberry.field(description="The caller: user, memberships in every city, current roles.")
    async def me(self, info: Info) -> Me:
        actor = info.context.actor
        user = await UserRow.get_or_none(id=actor.user_id) if actor.user_id else None
        memberships = (
            await directory.memberships_of(user_id=user.id, tenant_only=False) if user else []
        )
        current = None
        if actor.tenant_id is not None:
            row = await loader(info, "tenant", load_tenants).load(actor.tenant_id)
            current = Tenant.from_model(row) if row else None
        return Me(
            user=User.from_model(user) if user else None,
            memberships=[Membership.from_model(m) for m in memberships],
            province_admin_of=[encode_id("Province", p) for p in sorted(actor.province_admin_of)],
            platform_operator=actor.platform_operator,
            current_tenant=current,
            roles=sorted(actor.roles),
        )

    @strawberry.field(
        permission_classes=[can(Action.USER_READ)], description="People working in this city."
    )
    async def users(
        self,
        info: Info,
        search: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[User]:
        size = page_size(first)
        rows = await directory.list_city_users(
            actor=info.context.actor, search=search, limit=size + 1, after_id=decode_cursor(after)
        )
        return build_connection(rows, size, lambda r: r.id, User.from_model, after=after)

    @strawberry.field(permission_classes=[can(Action.USER_READ)])
    async def user(self, info: Info, id: relay.GlobalID) -> User:
        row = await directory.access_city_user(
            actor=info.context.actor, user_id=decode_id(id, "User", field="id")
        )
        return User.from_model(row)

    @strawberry.field(
        permission_classes=[can(Action.USER_READ)], description="A user's roles in this city."
    )
    async def memberships(self, info: Info, user_id: relay.GlobalID) -> list[Membership]:
        uid = decode_id(user_id, "User", field="userId")
        rows = await directory.memberships_of(user_id=uid, tenant_only=True)
        return [Membership.from_model(row) for row in rows]

    @strawberry.field(permission_classes=[can(Action.APIKEY_MANAGE)])
    async def api_keys(self, info: Info) -> list[ApiKey]:
        rows = await directory.list_api_keys(actor=info.context.actor)
        return [ApiKey.from_model(row) for row in rows]

    @strawberry.field(permission_classes=[can(Action.AUDIT_READ)], description="Newest first.")
    async def audit_events(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[AuditEvent]:
        size = page_size(first)
        rows = await directory.list_audit_events(
            actor=info.context.actor, limit=size + 1, before_id=decode_cursor(after)
        )
        return build_connection(rows, size, lambda r: r.id, AuditEvent.from_model, after=after)
