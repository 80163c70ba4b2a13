"""Financing products through GraphQL: banks' loan products (docs/business.md,
"Financing"). Needs and matching: ``financing``; applications: ``applications``."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Self

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from hotline.schema.business.types import SizeClass
from hotline.schema.context import Info
from hotline.schema.errors import Error, payload_errors
from hotline.schema.ids import decode_id, encode_id
from hotline.schema.pagination import Connection, build_connection, decode_cursor, page_size
from hotline.schema.permissions import can
from hotline.tenants.business import models, products
from hotline.tenants.kernel.access import Action

Collateral = models.Collateral
ProductStatus = models.ProductStatus
strawberry.enum(models.Collateral, name="Collateral")
strawberry.enum(models.ProductStatus, name="FinancingProductStatus")


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
        industries, sizes = products.audience(row.rules)
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


@strawberry.type
class FinancingProductPayload:
    product: FinancingProduct | None
    errors: list[Error]


@strawberry.type
class ProductQueries:
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
        rows = await products.list_products(
            actor=info.context.actor,
            bank_id=decode_id(bank_id, "Department", field="bankId") if bank_id else None,
            after=decode_cursor(after),
            first=size,
        )
        return build_connection(
            rows, size, lambda r: r.id, FinancingProduct.from_model, after=after
        )


@strawberry.type
class ProductMutations:
    @strawberry.mutation(
        permission_classes=[can(Action.FINANCING_MANAGE)],
        description="A bank's product (a department manager: its own bank's).",
    )
    async def create_financing_product(
        self, info: Info, input: CreateFinancingProductInput
    ) -> FinancingProductPayload:
        async def call() -> FinancingProduct:
            row = await products.create_product(
                actor=info.context.actor,
                bank_id=decode_id(input.bank_id, "Department", field="bankId"),
                name=input.name,
                description=input.description,
                terms=products.Terms(
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
            row = await products.withdraw_product(
                actor=info.context.actor, product_id=decode_id(id, "FinancingProduct", field="id")
            )
            return FinancingProduct.from_model(row)

        found, errors = await payload_errors(call)
        return FinancingProductPayload(product=found, errors=errors)
