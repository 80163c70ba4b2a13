from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry
from strawberry import relay

from hotline.schema.business.types import (
    Enterprise,
    EnterpriseImport,
    EnterpriseImportUpload,
    EnterpriseMember,
    EnterpriseStatus,
    PortfolioRule,
    SizeClass,
)
from hotline.schema.context import Info
from hotline.schema.errors import Error, payload_errors
from hotline.schema.ids import decode_id, encode_id
from hotline.schema.permissions import can
from hotline.tenants.business import members, portfolio, registry, registry_import
from hotline.tenants.kernel.access import Action
from hotline.tenants.kernel.roles import Role


@strawberry.input
class RegisterEnterpriseInput:
    uscc: str
    name: str
    industry: str = strawberry.field(description="GB/T 4754-2017 division code, e.g. 65.")
    legal_representative: str | None = None
    employees: int | None = None
    revenue: Decimal | None = strawberry.field(default=None, description="Yuan a year.")
    size_class: SizeClass | None = strawberry.field(
        default=None, description="Derived from employees and revenue when left out."
    )
    area_id: relay.GlobalID | None = None
    registered_capital: Decimal | None = None
    founded_on: date | None = None
    status: EnterpriseStatus = EnterpriseStatus.ACTIVE
    tags: list[str] = strawberry.field(default_factory=list)


@strawberry.type
class EnterprisePayload:
    enterprise: Enterprise | None
    errors: list[Error]


@strawberry.type
class RevealLegalRepresentativePayload:
    legal_representative: str | None
    errors: list[Error]


@strawberry.type
class CreateEnterpriseImportPayload:
    registry_import: EnterpriseImport | None = strawberry.field(name="import")
    upload: EnterpriseImportUpload | None
    errors: list[Error]


@strawberry.type
class EnterpriseImportPayload:
    registry_import: EnterpriseImport | None = strawberry.field(name="import")
    errors: list[Error]


@strawberry.input
class InviteEnterpriseMemberInput:
    enterprise_id: relay.GlobalID
    username: str
    display_name: str
    password: str
    role: str = strawberry.field(
        description="enterprise_admin (city staff only) or enterprise_user."
    )


@strawberry.type
class EnterpriseMemberPayload:
    member: EnterpriseMember | None
    errors: list[Error]


@strawberry.input
class AssignServiceManagerInput:
    manager_id: relay.GlobalID
    enterprise_id: relay.GlobalID | None = strawberry.field(
        default=None, description="A named enterprise (wins over industry and area)."
    )
    industry: str | None = strawberry.field(
        default=None, description="A division code; with areaId, only inside that subtree."
    )
    area_id: relay.GlobalID | None = None


@strawberry.type
class PortfolioRulePayload:
    rule: PortfolioRule | None
    errors: list[Error]


@strawberry.type
class DeletePayload:
    ok: bool
    errors: list[Error]


@strawberry.type
class MovePortfolioPayload:
    moved: int = strawberry.field(description="How many portfolio rules changed hands.")
    errors: list[Error]


@strawberry.type
class BusinessMutations:
    @strawberry.mutation(
        permission_classes=[can(Action.BUSINESS_MANAGE)],
        description="Add one enterprise to the city's registry by hand.",
    )
    async def register_enterprise(
        self, info: Info, input: RegisterEnterpriseInput
    ) -> EnterprisePayload:
        async def call() -> Enterprise:
            row = await registry.register_enterprise(
                actor=info.context.actor,
                data=registry.EnterpriseInput(
                    uscc=input.uscc,
                    name=input.name,
                    industry=input.industry,
                    legal_rep=input.legal_representative,
                    employees=input.employees,
                    revenue=input.revenue,
                    size_class=input.size_class,
                    area_id=decode_id(input.area_id, "Department", field="areaId")
                    if input.area_id
                    else None,
                    registered_capital=input.registered_capital,
                    founded_on=input.founded_on,
                    status=input.status,
                    tags=tuple(input.tags),
                ),
            )
            return Enterprise.from_model(row)

        enterprise, errors = await payload_errors(call)
        return EnterprisePayload(enterprise=enterprise, errors=errors)

    @strawberry.mutation(
        permission_classes=[can(Action.BUSINESS_MANAGE)],
        description="The legal representative's name in clear (audited).",
    )
    async def reveal_legal_representative(
        self, info: Info, enterprise_id: relay.GlobalID
    ) -> RevealLegalRepresentativePayload:
        async def call() -> str | None:
            return await registry.reveal_legal_rep(
                actor=info.context.actor,
                enterprise_id=decode_id(enterprise_id, "Enterprise", field="enterpriseId"),
            )

        name, errors = await payload_errors(call)
        return RevealLegalRepresentativePayload(legal_representative=name, errors=errors)

    @strawberry.mutation(
        permission_classes=[can(Action.BUSINESS_MANAGE)],
        description=(
            "Start a registry import: upload the CSV (UTF-8 or GBK) or XLSX with the "
            "presigned POST, then call startEnterpriseImport."
        ),
    )
    async def create_enterprise_import(
        self, info: Info, file_name: str, size: int
    ) -> CreateEnterpriseImportPayload:
        upload, errors = await payload_errors(
            lambda: registry_import.create_import(
                actor=info.context.actor, file_name=file_name, size=size
            )
        )
        if upload is None:
            return CreateEnterpriseImportPayload(registry_import=None, upload=None, errors=errors)
        return CreateEnterpriseImportPayload(
            registry_import=EnterpriseImport.from_model(upload.registry_import, None),
            upload=EnterpriseImportUpload.from_upload(upload),
            errors=[],
        )

    @strawberry.mutation(
        permission_classes=[can(Action.BUSINESS_MANAGE)],
        description="Queue the uploaded file; follow enterpriseImport(id).",
    )
    async def start_enterprise_import(
        self, info: Info, id: relay.GlobalID
    ) -> EnterpriseImportPayload:
        async def call() -> EnterpriseImport:
            row = await registry_import.start_import(
                actor=info.context.actor,
                import_id=decode_id(id, "EnterpriseImport", field="id"),
            )
            return EnterpriseImport.from_model(row, None)

        found, errors = await payload_errors(call)
        return EnterpriseImportPayload(registry_import=found, errors=errors)

    @strawberry.mutation(
        permission_classes=[can(Action.ENTERPRISE_MEMBERS_MANAGE)],
        description=(
            "A new account bound to the enterprise: an enterprise_admin (made by city staff, "
            "which verifies it) or an enterprise_user (also invited by its enterprise admin)."
        ),
    )
    async def invite_enterprise_member(
        self, info: Info, input: InviteEnterpriseMemberInput
    ) -> EnterpriseMemberPayload:
        async def call() -> EnterpriseMember:
            try:
                role = Role(input.role)
            except ValueError:
                role = Role.AUDITOR  # refused below as not an enterprise role
            user, member = await members.invite_member(
                actor=info.context.actor,
                enterprise_id=decode_id(input.enterprise_id, "Enterprise", field="enterpriseId"),
                username=input.username,
                display_name=input.display_name,
                password=input.password,
                role=role,
            )
            return EnterpriseMember(
                user_id=encode_id("User", user.id),
                username=user.username,
                display_name=user.display_name,
                role=member.role.value,
                verified=member.verified_by_id is not None,
            )

        member, errors = await payload_errors(call)
        return EnterpriseMemberPayload(member=member, errors=errors)

    @strawberry.mutation(
        permission_classes=[can(Action.BUSINESS_MANAGE)],
        description=(
            "Give a named enterprise, an industry (optionally inside an area) or an area "
            "subtree to a service manager; a part another manager held moves to this one."
        ),
    )
    async def assign_service_manager(
        self, info: Info, input: AssignServiceManagerInput
    ) -> PortfolioRulePayload:
        async def call() -> PortfolioRule:
            rule = await portfolio.assign(
                actor=info.context.actor,
                manager_id=decode_id(input.manager_id, "User", field="managerId"),
                enterprise_id=decode_id(input.enterprise_id, "Enterprise", field="enterpriseId")
                if input.enterprise_id
                else None,
                industry=input.industry,
                area_id=decode_id(input.area_id, "Department", field="areaId")
                if input.area_id
                else None,
            )
            return PortfolioRule.from_model(rule)

        rule, errors = await payload_errors(call)
        return PortfolioRulePayload(rule=rule, errors=errors)

    @strawberry.mutation(
        permission_classes=[can(Action.BUSINESS_MANAGE)], description="Remove one portfolio rule."
    )
    async def remove_portfolio_rule(self, info: Info, id: relay.GlobalID) -> DeletePayload:
        async def call() -> bool:
            await portfolio.unassign(
                actor=info.context.actor, rule_id=decode_id(id, "PortfolioRule", field="id")
            )
            return True

        ok, errors = await payload_errors(call)
        return DeletePayload(ok=bool(ok), errors=errors)

    @strawberry.mutation(
        permission_classes=[can(Action.BUSINESS_MANAGE)],
        description="Hand a service manager's whole portfolio to another.",
    )
    async def move_portfolio(
        self, info: Info, from_manager_id: relay.GlobalID, to_manager_id: relay.GlobalID
    ) -> MovePortfolioPayload:
        moved, errors = await payload_errors(
            lambda: portfolio.move_portfolio(
                actor=info.context.actor,
                from_manager_id=decode_id(from_manager_id, "User", field="fromManagerId"),
                to_manager_id=decode_id(to_manager_id, "User", field="toManagerId"),
            )
        )
        return MovePortfolioPayload(moved=moved or 0, errors=errors)
