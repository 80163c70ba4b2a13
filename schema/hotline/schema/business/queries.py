from __future__ import annotations

import strawberry
from strawberry import relay

from hotline.schema.business.types import (
    Enterprise,
    EnterpriseImport,
    EnterpriseMember,
    EnterpriseStatus,
    Industry,
    PortfolioRule,
    SizeClass,
)
from hotline.schema.context import Info
from hotline.schema.ids import decode_id, encode_id
from hotline.schema.pagination import Connection, build_connection, decode_cursor, page_size
from hotline.schema.permissions import can
from hotline.tenants.business import members, portfolio, registry, registry_import
from hotline.tenants.business.access import access_enterprise, require_business
from hotline.tenants.business.rules import industries
from hotline.tenants.kernel.access import Action


@strawberry.type
class BusinessQueries:
    @strawberry.field(description="GB/T 4754-2017 divisions, the registry's industry codes.")
    def industries(self) -> list[Industry]:
        return [Industry.from_row(row) for row in industries().values()]

    @strawberry.field(
        permission_classes=[can(Action.ENTERPRISE_READ)],
        description=(
            "The city's enterprise registry by id (staff); an enterprise user sees its own "
            "enterprise only. areaId filters a department's subtree."
        ),
    )
    async def enterprises(
        self,
        info: Info,
        industry: str | None = None,
        size_class: SizeClass | None = None,
        area_id: relay.GlobalID | None = None,
        status: EnterpriseStatus | None = None,
        tag: str | None = None,
        search: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Enterprise]:
        size = page_size(first)
        rows = await registry.list_enterprises(
            actor=info.context.actor,
            where=registry.EnterpriseFilter(
                industry=industry,
                size_class=size_class,
                area_id=decode_id(area_id, "Department", field="areaId") if area_id else None,
                status=status,
                tag=tag,
                search=search,
            ),
            after=decode_cursor(after),
            first=size,
        )
        return build_connection(rows, size, lambda r: r.id, Enterprise.from_model, after=after)

    @strawberry.field(permission_classes=[can(Action.ENTERPRISE_READ)])
    async def enterprise(self, info: Info, id: relay.GlobalID) -> Enterprise:
        row = await access_enterprise(
            actor=info.context.actor, enterprise_id=decode_id(id, "Enterprise", field="id")
        )
        return Enterprise.from_model(row)

    @strawberry.field(
        permission_classes=[can(Action.ENTERPRISE_READ)],
        description="The enterprise's people (its admins and users).",
    )
    async def enterprise_members(
        self, info: Info, enterprise_id: relay.GlobalID
    ) -> list[EnterpriseMember]:
        rows = await members.members_of(
            actor=info.context.actor,
            enterprise_id=decode_id(enterprise_id, "Enterprise", field="enterpriseId"),
        )
        return [
            EnterpriseMember(
                user_id=encode_id("User", user.id),
                username=user.username,
                display_name=user.display_name,
                role=member.role.value,
                verified=member.verified_by_id is not None,
            )
            for member, user in rows
        ]

    @strawberry.field(
        permission_classes=[can(Action.ENTERPRISE_READ)],
        description="The enterprise's service manager (a User id), null when unassigned.",
    )
    async def enterprise_manager(
        self, info: Info, enterprise_id: relay.GlobalID
    ) -> relay.GlobalID | None:
        manager = await portfolio.manager_of(
            actor=info.context.actor,
            enterprise_id=decode_id(enterprise_id, "Enterprise", field="enterpriseId"),
        )
        return encode_id("User", manager) if manager is not None else None

    @strawberry.field(permission_classes=[can(Action.BUSINESS_MANAGE)])
    async def enterprise_import(self, info: Info, id: relay.GlobalID) -> EnterpriseImport:
        row = await registry_import.access_import(
            actor=info.context.actor, import_id=decode_id(id, "EnterpriseImport", field="id")
        )
        return EnterpriseImport.from_model(row, await registry_import.report_url(row))

    @strawberry.field(
        permission_classes=[can(Action.BUSINESS_READ)],
        description="Portfolio rules of the city, or of one service manager.",
    )
    async def portfolio_rules(
        self, info: Info, manager_id: relay.GlobalID | None = None
    ) -> list[PortfolioRule]:
        rows = await portfolio.rules(
            actor=info.context.actor,
            manager_id=decode_id(manager_id, "User", field="managerId") if manager_id else None,
        )
        return [PortfolioRule.from_model(r) for r in rows]

    @strawberry.field(
        permission_classes=[can(Action.BUSINESS_READ)],
        description="The enterprises a service manager serves (by the rules' precedence).",
    )
    async def manager_portfolio(
        self,
        info: Info,
        manager_id: relay.GlobalID,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Enterprise]:
        size = page_size(first)
        rows = await portfolio.portfolio(
            actor=info.context.actor,
            manager_id=decode_id(manager_id, "User", field="managerId"),
            after=decode_cursor(after),
            first=size,
        )
        return build_connection(rows, size, lambda r: r.id, Enterprise.from_model, after=after)

    @strawberry.field(
        permission_classes=[can(Action.BUSINESS_READ)],
        description="The city's enterprises no service manager serves yet.",
    )
    async def unassigned_enterprises(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Enterprise]:
        size = page_size(first)
        await require_business(info.context.actor, Action.BUSINESS_READ)
        rows = await portfolio.unassigned(
            actor=info.context.actor, after=decode_cursor(after), first=size
        )
        return build_connection(rows, size, lambda r: r.id, Enterprise.from_model, after=after)
