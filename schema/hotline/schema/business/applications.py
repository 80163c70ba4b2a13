"""Financing applications through GraphQL: an enterprise applies for a product on its
financing request and may withdraw; the product's bank decides (docs/business.md,
"Financing"). Each change is also an entry of the request's ticket timeline."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Self

import strawberry
from strawberry import relay

from hotline.schema.context import Info
from hotline.schema.errors import Error, payload_errors
from hotline.schema.ids import decode_id, encode_id
from hotline.schema.permissions import can
from hotline.tenants.business import applications, models
from hotline.tenants.kernel.access import Action

ApplicationStatus = models.ApplicationStatus
strawberry.enum(models.ApplicationStatus, name="FinancingApplicationStatus")


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


@strawberry.type
class FinancingApplicationPayload:
    application: FinancingApplication | None
    errors: list[Error]


@strawberry.type
class ApplicationQueries:
    @strawberry.field(
        permission_classes=[can(Action.ENTERPRISE_READ)],
        description="A request's applications (whoever sees the request).",
    )
    async def financing_applications(
        self, info: Info, request_id: relay.GlobalID
    ) -> list[FinancingApplication]:
        rows = await applications.list_applications(
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
        rows = await applications.list_applications(
            actor=info.context.actor,
            request_id=None,
            product_id=decode_id(product_id, "FinancingProduct", field="productId"),
        )
        return [FinancingApplication.from_model(r) for r in rows]


@strawberry.type
class ApplicationMutations:
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
            row = await applications.apply(
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
            row = await applications.withdraw_application(
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
            row = await applications.decide_application(
                actor=info.context.actor,
                application_id=decode_id(id, "FinancingApplication", field="id"),
                approved=approved,
                approved_amount=approved_amount,
                note=note,
            )
            return FinancingApplication.from_model(row)

        found, errors = await payload_errors(call)
        return FinancingApplicationPayload(application=found, errors=errors)
