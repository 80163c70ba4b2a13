from __future__ import annotations

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from hotline.schema.categories.types import Category, RoutingRule
from hotline.schema.context import Info
from hotline.schema.errors import Error, payload_errors
from hotline.schema.ids import decode_id
from hotline.tenants.categories import service
from hotline.tenants.kernel.errors import Invalid
from hotline.tenants.routing import service as routing


@strawberry.type
class CategoryPayload:
    category: Category | None
    errors: list[Error]


@strawberry.type
class RoutingRulePayload:
    routing_rule: RoutingRule | None
    errors: list[Error]


@strawberry.input
class CreateCategoryInput:
    name: str
    parent_id: relay.GlobalID | None = None
    code: str | None = None
    sla_overrides: JSON | None = strawberry.field(
        default=None, description='A partial SLA policy, e.g. {"reply_working_days": 5}.'
    )


@strawberry.input
class UpdateCategoryInput:
    category_id: relay.GlobalID
    name: str | None = None
    sla_overrides: JSON | None = None
    is_active: bool | None = None


@strawberry.input
class CreateRoutingRuleInput:
    name: str
    department_id: relay.GlobalID
    priority: int = 100
    area_id: relay.GlobalID | None = None
    category_id: relay.GlobalID | None = None
    keywords: list[str] = strawberry.field(default_factory=list)


@strawberry.input
class UpdateRoutingRuleInput:
    rule_id: relay.GlobalID
    name: str | None = None
    department_id: relay.GlobalID | None = None
    priority: int | None = None
    area_id: relay.GlobalID | None = None
    category_id: relay.GlobalID | None = None
    clear_area: bool = False
    clear_category: bool = False
    keywords: list[str] | None = None
    is_active: bool | None = None


def _opt(gid: relay.GlobalID | None, type_name: str, field: str) -> int | None:
    return decode_id(gid, type_name, field=field) if gid is not None else None


def _json_object(value: object, field: str) -> dict[str, object] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Invalid("an object is expected", field=field)
    return value


@strawberry.type
class CategoryMutations:
    @strawberry.mutation
    async def create_category(self, info: Info, input: CreateCategoryInput) -> CategoryPayload:
        async def call() -> Category:
            row = await service.create_category(
                actor=info.context.actor,
                name=input.name,
                parent_id=_opt(input.parent_id, "Category", "parentId"),
                code=input.code,
                sla_overrides=_json_object(input.sla_overrides, "slaOverrides"),
            )
            return Category.from_model(row)

        category, errors = await payload_errors(call)
        return CategoryPayload(category=category, errors=errors)

    @strawberry.mutation
    async def update_category(self, info: Info, input: UpdateCategoryInput) -> CategoryPayload:
        async def call() -> Category:
            row = await service.update_category(
                actor=info.context.actor,
                category_id=decode_id(input.category_id, "Category", field="categoryId"),
                name=input.name,
                sla_overrides=_json_object(input.sla_overrides, "slaOverrides"),
                is_active=input.is_active,
            )
            return Category.from_model(row)

        category, errors = await payload_errors(call)
        return CategoryPayload(category=category, errors=errors)

    @strawberry.mutation
    async def create_routing_rule(
        self, info: Info, input: CreateRoutingRuleInput
    ) -> RoutingRulePayload:
        async def call() -> RoutingRule:
            row = await routing.create_routing_rule(
                actor=info.context.actor,
                name=input.name,
                department_id=decode_id(input.department_id, "Department", field="departmentId"),
                priority=input.priority,
                area_id=_opt(input.area_id, "Department", "areaId"),
                category_id=_opt(input.category_id, "Category", "categoryId"),
                keywords=input.keywords,
            )
            return RoutingRule.from_model(row)

        rule, errors = await payload_errors(call)
        return RoutingRulePayload(routing_rule=rule, errors=errors)

    @strawberry.mutation
    async def update_routing_rule(
        self, info: Info, input: UpdateRoutingRuleInput
    ) -> RoutingRulePayload:
        async def call() -> RoutingRule:
            row = await routing.update_routing_rule(
                actor=info.context.actor,
                rule_id=decode_id(input.rule_id, "RoutingRule", field="ruleId"),
                name=input.name,
                department_id=_opt(input.department_id, "Department", "departmentId"),
                priority=input.priority,
                area_id=_opt(input.area_id, "Department", "areaId"),
                category_id=_opt(input.category_id, "Category", "categoryId"),
                clear_area=input.clear_area,
                clear_category=input.clear_category,
                keywords=input.keywords,
                is_active=input.is_active,
            )
            return RoutingRule.from_model(row)

        rule, errors = await payload_errors(call)
        return RoutingRulePayload(routing_rule=rule, errors=errors)
