"""Financing needs through GraphQL: an enterprise's financing need, matched to the
banks' products with reasons (docs/business.md, "Financing"). Products: ``products``;
applications: ``applications``."""

from __future__ import annotations

from decimal import Decimal
from typing import Self

import strawberry
from strawberry import relay

from hotline.schema.business.policies import EligibilityReason
from hotline.schema.business.products import Collateral, FinancingProduct
from hotline.schema.business.requests import BusinessRequest
from hotline.schema.context import Info
from hotline.schema.errors import Error, payload_errors
from hotline.schema.ids import decode_id, encode_id
from hotline.schema.permissions import can
from hotline.tenants.business import financing, models
from hotline.tenants.kernel.access import Action


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


@strawberry.input
class SubmitFinancingNeedInput:
    title: str
    content: str
    amount: Decimal = strawberry.field(description="Yuan.")
    term_months: int
    collateral: list[Collateral] = strawberry.field(default_factory=list)


@strawberry.type
class FinancingNeedPayload:
    request: BusinessRequest | None
    need: FinancingNeed | None
    errors: list[Error]


@strawberry.type
class FinancingQueries:
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


@strawberry.type
class FinancingMutations:
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
