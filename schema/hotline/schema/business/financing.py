"""Financing through GraphQL: banks' products, an enterprise's financing need matched to
them with reasons, applications and their outcomes (docs/business.md, "Financing").

(Over 400 lines: one feature's types, inputs and resolvers, enterprise- and
bank-facing.)
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Self

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from hotline.schema.business.policies import EligibilityReason
from hotline.schema.business.requests import BusinessRequest
from hotline.schema.business.types import SizeClass
from hotline.schema.context import Info
from hotline.schema.errors import Error, payload_errors
from hotline.schema.ids import decode_id, encode_id
from hotline.schema.pagination import Connection, build_connection, decode_cursor, page_size
from hotline.schema.permissions import can
from hotline.tenants.business import financing, models
from hotline.tenants.kernel.access import Action

Collateral = models.Collateral
ProductStatus = models.ProductStatus
ApplicationStatus = models.ApplicationStatus
strawberry.enum(models.Collateral, name="Collateral")
strawberry.enum(models.ProductStatus, name="FinancingProductStatus")
strawberry.enum(models.ApplicationStatus, name="FinancingApplicationStatus")


@strawberry.type(description="A bank's loan product.")
class FinancingProduct:
    id: relay.GlobalID
    bank_id: relay.GlobalID = strawberry.field(description="A department of function bank.")
    name: str
    description: str
    min_amount: Decimal = strawberry.field(description="Yuan.")
    max_amount: Decimal
    min_rate: Decimal = strawberry.field(description="% a year.")
    max_rate: Decimal
    min_term_months: int
    max_term_months: int
    collateral: list[Collateral]
    industries: list[str] = strawberry.field(description="Divisions or sections; empty: any.")
    size_classes: list[str] = strawberry.field(description="Empty: any size.")
    rules: JSON = strawberry.field(description="The whole audience rule (docs/business.md).")
    status: ProductStatus
    created_at: datetime

    @classmethod
    def from_model(cls, row: models.FinancingProduct) -> Self:
        industries, sizes = financing.audience(row.rules)
        return cls(
            id=encode_id("FinancingProduct", row.id),
            bank_id=encode_id("Department", row.bank_id),
            name=row.name,
            description=row.description,
            min_amount=row.min_amount,
            max_amount=row.max_amount,
            min_rate=row.min_rate,
            max_rate=row.max_rate,
            min_term_months=row.min_term_months,
            max_term_months=row.max_term_months,
            collateral=[Collateral(c) for c in row.collateral or []],
            industries=industries,
            size_classes=sizes,
            rules=row.rules,
            status=row.status,
            created_at=row.created_at,
        )


@strawberry.type(description="What a financing request asks for.")
class FinancingNeed:
    request_id: relay.GlobalID
    amount: Decimal = strawberry.field(description="Yuan.")
    term_months: int
    collateral: list[Collateral] = strawberry.field(description="What it can offer.")

    @classmethod
    def from_model(cls, row: models.FinancingNeed) -> Self:
        return cls(
            request_id=encode_id("BusinessRequest", row.request_id),
            amount=row.amount,
            term_months=row.term_months,
            collateral=[Collateral(c) for c in row.collateral or []],
        )


@strawberry.type(description="One product for a need: eligible or not, and why.")
class FinancingMatch:
    product: FinancingProduct
    eligible: bool
    reasons: list[EligibilityReason] = strawberry.field(
        description="The audience's conditions, then amount, term and collateral."
    )
    why_not: list[EligibilityReason]


@strawberry.type
class FinancingApplication:
    id: relay.GlobalID
    request_id: relay.GlobalID
    product_id: relay.GlobalID
    enterprise_id: relay.GlobalID
    amount: Decimal = strawberry.field(description="Asked for, yuan.")
    status: ApplicationStatus
    approved_amount: Decimal | None
    note: str
    created_at: datetime
    decided_at: datetime | None

    @classmethod
    def from_model(cls, row: models.FinancingApplication) -> Self:
        return cls(
            id=encode_id("FinancingApplication", row.id),
            request_id=encode_id("BusinessRequest", row.request_id),
            product_id=encode_id("FinancingProduct", row.product_id),
            enterprise_id=encode_id("Enterprise", row.enterprise_id),
            amount=row.amount,
            status=row.status,
            approved_amount=row.approved_amount,
            note=row.note,
            created_at=row.created_at,
            decided_at=row.decided_at,
        )


@strawberry.input
class CreateFinancingProductInput:
    bank_id: relay.GlobalID
    name: str
    min_amount: Decimal
    max_amount: Decimal
    min_rate: Decimal = strawberry.field(description="% a year.")
    max_rate: Decimal
    min_term_months: int
    max_term_months: int
    collateral: list[Collateral]
    industries: list[str] = strawberry.field(default_factory=list)
    size_classes: list[SizeClass] = strawberry.field(default_factory=list)
    rules: JSON | None = strawberry.field(
        default=None, description="Any further condition, in the policies' rule language."
    )
    description: str = ""


@strawberry.input
class SubmitFinancingNeedInput:
    title: str
    content: str
    amount: Decimal = strawberry.field(description="Yuan.")
    term_months: int
    collateral: list[Collateral] = strawberry.field(default_factory=list)


@strawberry.type
class FinancingProductPayload:
    product: FinancingProduct | None
    errors: list[Error]


@strawberry.type
class FinancingNeedPayload:
    request: BusinessRequest | None
    need: FinancingNeed | None
    errors: list[Error]


@strawberry.type
class FinancingApplicationPayload:
    application: FinancingApplication | None
    errors: list[Error]


@strawberry.type
class FinancingQueries:
    @strawberry.field(
        permission_classes=[can(Action.FINANCING_READ)],
        description="The city's financing products, newest first (active ones; the city's "
        "staff also see withdrawn ones).",
    )
    async def financing_products(
        self,
        info: Info,
        bank_id: relay.GlobalID | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[FinancingProduct]:
        size = page_size(first)
        rows = await financing.list_products(
            actor=info.context.actor,
            bank_id=decode_id(bank_id, "Department", field="bankId") if bank_id else None,
            after=decode_cursor(after),
            first=size,
        )
        return build_connection(
            rows, size, lambda r: r.id, FinancingProduct.from_model, after=after
        )

    @strawberry.field(
        permission_classes=[can(Action.ENTERPRISE_READ)],
        description="The financing need of a request of topic financing.",
    )
    async def financing_need(self, info: Info, request_id: relay.GlobalID) -> FinancingNeed:
        _, need = await financing.access_need(
            actor=info.context.actor,
            request_id=decode_id(request_id, "BusinessRequest", field="requestId"),
        )
        return FinancingNeed.from_model(need)

    @strawberry.field(
        permission_classes=[can(Action.ENTERPRISE_READ)],
        description=(
            "The products for a financing need, ranked: eligible first, then fewest unmet "
            "conditions, lowest rate, largest amount; each with why and why not."
        ),
    )
    async def financing_matches(
        self, info: Info, request_id: relay.GlobalID, first: int = 20
    ) -> list[FinancingMatch]:
        rows = await financing.match(
            actor=info.context.actor,
            request_id=decode_id(request_id, "BusinessRequest", field="requestId"),
            first=first,
        )
        return [
            FinancingMatch(
                product=FinancingProduct.from_model(m.product),
                eligible=m.eligible,
                reasons=[
                    EligibilityReason(met=r.met, text=r.text, text_zh=r.text_zh) for r in m.reasons
                ],
                why_not=[
                    EligibilityReason(met=r.met, text=r.text, text_zh=r.text_zh) for r in m.unmet
                ],
            )
            for m in rows
        ]

    @strawberry.field(
        permission_classes=[can(Action.ENTERPRISE_READ)],
        description="A request's applications (whoever sees the request).",
    )
    async def financing_applications(
        self, info: Info, request_id: relay.GlobalID
    ) -> list[FinancingApplication]:
        rows = await financing.list_applications(
            actor=info.context.actor,
            request_id=decode_id(request_id, "BusinessRequest", field="requestId"),
            product_id=None,
        )
        return [FinancingApplication.from_model(r) for r in rows]

    @strawberry.field(
        permission_classes=[can(Action.FINANCING_DECIDE)],
        description="A product's applications, for its bank (and the city's admin).",
    )
    async def financing_product_applications(
        self, info: Info, product_id: relay.GlobalID
    ) -> list[FinancingApplication]:
        rows = await financing.list_applications(
            actor=info.context.actor,
            request_id=None,
            product_id=decode_id(product_id, "FinancingProduct", field="productId"),
        )
        return [FinancingApplication.from_model(r) for r in rows]


@strawberry.type
class FinancingMutations:
    @strawberry.mutation(
        permission_classes=[can(Action.FINANCING_MANAGE)],
        description="A bank's product (a department manager: its own bank's).",
    )
    async def create_financing_product(
        self, info: Info, input: CreateFinancingProductInput
    ) -> FinancingProductPayload:
        async def call() -> FinancingProduct:
            row = await financing.create_product(
                actor=info.context.actor,
                bank_id=decode_id(input.bank_id, "Department", field="bankId"),
                name=input.name,
                description=input.description,
                terms=financing.Terms(
                    min_amount=input.min_amount,
                    max_amount=input.max_amount,
                    min_rate=input.min_rate,
                    max_rate=input.max_rate,
                    min_term_months=input.min_term_months,
                    max_term_months=input.max_term_months,
                    collateral=input.collateral,
                ),
                industries=input.industries,
                size_classes=input.size_classes,
                rules=input.rules,
            )
            return FinancingProduct.from_model(row)

        found, errors = await payload_errors(call)
        return FinancingProductPayload(product=found, errors=errors)

    @strawberry.mutation(permission_classes=[can(Action.FINANCING_MANAGE)])
    async def withdraw_financing_product(
        self, info: Info, id: relay.GlobalID
    ) -> FinancingProductPayload:
        async def call() -> FinancingProduct:
            row = await financing.withdraw_product(
                actor=info.context.actor, product_id=decode_id(id, "FinancingProduct", field="id")
            )
            return FinancingProduct.from_model(row)

        found, errors = await payload_errors(call)
        return FinancingProductPayload(product=found, errors=errors)

    @strawberry.mutation(
        permission_classes=[can(Action.BUSINESS_REQUEST_SUBMIT)],
        description="An enterprise's financing need: a business request of topic financing.",
    )
    async def submit_financing_need(
        self, info: Info, input: SubmitFinancingNeedInput
    ) -> FinancingNeedPayload:
        async def call() -> tuple[BusinessRequest, FinancingNeed]:
            got, need = await financing.submit_need(
                actor=info.context.actor,
                title=input.title,
                content=input.content,
                amount=input.amount,
                term_months=input.term_months,
                collateral=input.collateral,
            )
            return BusinessRequest.from_request(got), FinancingNeed.from_model(need)

        found, errors = await payload_errors(call)
        return FinancingNeedPayload(
            request=found[0] if found else None, need=found[1] if found else None, errors=errors
        )

    @strawberry.mutation(
        permission_classes=[can(Action.BUSINESS_REQUEST_SUBMIT)],
        description="Apply for a product on a financing request (once per product).",
    )
    async def apply_for_financing(
        self,
        info: Info,
        request_id: relay.GlobalID,
        product_id: relay.GlobalID,
        amount: Decimal | None = None,
    ) -> FinancingApplicationPayload:
        async def call() -> FinancingApplication:
            row = await financing.apply(
                actor=info.context.actor,
                request_id=decode_id(request_id, "BusinessRequest", field="requestId"),
                product_id=decode_id(product_id, "FinancingProduct", field="productId"),
                amount=amount,
            )
            return FinancingApplication.from_model(row)

        found, errors = await payload_errors(call)
        return FinancingApplicationPayload(application=found, errors=errors)

    @strawberry.mutation(permission_classes=[can(Action.BUSINESS_REQUEST_SUBMIT)])
    async def withdraw_financing_application(
        self, info: Info, id: relay.GlobalID
    ) -> FinancingApplicationPayload:
        async def call() -> FinancingApplication:
            row = await financing.withdraw_application(
                actor=info.context.actor,
                application_id=decode_id(id, "FinancingApplication", field="id"),
            )
            return FinancingApplication.from_model(row)

        found, errors = await payload_errors(call)
        return FinancingApplicationPayload(application=found, errors=errors)

    @strawberry.mutation(
        permission_classes=[can(Action.FINANCING_DECIDE)],
        description="The bank's outcome: approved with an amount, or rejected.",
    )
    async def decide_financing_application(
        self,
        info: Info,
        id: relay.GlobalID,
        approved: bool,
        approved_amount: Decimal | None = None,
        note: str = "",
    ) -> FinancingApplicationPayload:
        async def call() -> FinancingApplication:
            row = await financing.decide_application(
                actor=info.context.actor,
                application_id=decode_id(id, "FinancingApplication", field="id"),
                approved=approved,
                approved_amount=approved_amount,
                note=note,
            )
            return FinancingApplication.from_model(row)

        found, errors = await payload_errors(call)
        return FinancingApplicationPayload(application=found, errors=errors)
