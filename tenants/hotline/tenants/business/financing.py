"""Financing needs and matching (docs/business.md, "Financing"): an enterprise's
financing need (a business request of topic ``financing`` with a
``business_financing_needs`` row) is matched to the city's active products
(``products``) as a ranked list with reasons — the audience's conditions worded as a
policy's, then the product's own terms (amount, term, collateral) against the need.
Applications for a matched product and their outcomes are ``applications``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from hotline.platform import clock
from hotline.tenants.business import eligibility
from hotline.tenants.business.access import city_scope
from hotline.tenants.business.models import (
    BusinessRequest,
    Collateral,
    Enterprise,
    FinancingNeed,
    FinancingProduct,
    ProductStatus,
    RequestTopic,
)
from hotline.tenants.business.policies import facts_of, parsed
from hotline.tenants.business.products import (
    MAX_PAGE,
    MAX_TERM_MONTHS,
    checked_amount,
    collateral_kinds,
    yuan,
)
from hotline.tenants.business.requests import Request, access_request, submit_request
from hotline.tenants.kernel.access import Actor
from hotline.tenants.kernel.errors import Invalid, NotFound


async def submit_need(
    *,
    actor: Actor,
    title: str,
    content: str,
    amount: Decimal,
    term_months: int,
    collateral: Sequence[Collateral],
) -> tuple[Request, FinancingNeed]:
    """An enterprise's financing need: a business request of topic financing (to its
    manager first, like any) with the amount, term and collateral it can offer."""
    value = checked_amount(amount, "amount")
    if not 1 <= term_months <= MAX_TERM_MONTHS:
        raise Invalid("a term is 1 to {max} months", field="termMonths", max=MAX_TERM_MONTHS)
    kinds = collateral_kinds(collateral, "collateral")
    made: list[FinancingNeed] = []

    async def also(request: BusinessRequest) -> None:
        made.append(
            await FinancingNeed.create(
                request_id=request.id, amount=value, term_months=term_months, collateral=kinds
            )
        )

    got = await submit_request(
        actor=actor, topic=RequestTopic.FINANCING, title=title, content=content, also=also
    )
    return got, made[0]


async def access_need(*, actor: Actor, request_id: int) -> tuple[Request, FinancingNeed]:
    """The request and its financing need, if the actor may see the request."""
    got = await access_request(actor=actor, request_id=request_id)
    with city_scope(actor):
        need = await FinancingNeed.get_or_none(request_id=got.request.id)
    if need is None:
        raise NotFound("financing need")
    return got, need


@dataclass(frozen=True)
class ProductMatch:
    product: FinancingProduct
    eligible: bool
    reasons: tuple[eligibility.Reason, ...]  # the audience's, then amount, term, collateral

    @property
    def unmet(self) -> tuple[eligibility.Reason, ...]:
        return tuple(r for r in self.reasons if not r.met)


def term_reasons(product: FinancingProduct, need: FinancingNeed) -> list[eligibility.Reason]:
    """Amount, term and collateral of the need against the product's terms."""
    reason = eligibility.Reason
    out: list[eligibility.Reason] = []
    low, high = yuan(product.min_amount), yuan(product.max_amount)
    if need.amount < product.min_amount:
        out.append(
            reason(
                False,
                f"amount below the product's minimum {low} yuan",
                f"申请金额低于产品下限{low}元",
            )
        )
    elif need.amount > product.max_amount:
        out.append(
            reason(
                False,
                f"amount above the product's maximum {high} yuan",
                f"申请金额高于产品上限{high}元",
            )
        )
    else:
        out.append(
            reason(True, f"amount within {low}-{high} yuan", f"申请金额在{low}至{high}元之间")
        )
    months = f"{product.min_term_months}-{product.max_term_months}"
    if product.min_term_months <= need.term_months <= product.max_term_months:
        out.append(reason(True, f"term within {months} months", f"期限在{months}个月之内"))
    else:
        out.append(reason(False, f"term outside {months} months", f"期限不在{months}个月之内"))
    accepted = set(product.collateral or [])
    offered = set(need.collateral or [])
    if Collateral.CREDIT.value in accepted:
        out.append(reason(True, "a credit loan: no collateral needed", "信用贷款，无需担保"))
    elif accepted & offered:
        kinds = ", ".join(sorted(accepted & offered))
        out.append(reason(True, f"collateral accepted: {kinds}", f"担保方式符合：{kinds}"))
    else:
        kinds = ", ".join(sorted(accepted))
        out.append(
            reason(False, f"needs collateral of {kinds}", f"需提供以下担保方式之一：{kinds}")
        )
    return out


def rank(matches: list[ProductMatch]) -> list[ProductMatch]:
    """Eligible first, then fewest unmet conditions, lowest rate, largest amount."""
    return sorted(
        matches,
        key=lambda m: (
            not m.eligible,
            len(m.unmet),
            m.product.min_rate,
            -m.product.max_amount,
            m.product.id,
        ),
    )


async def match(*, actor: Actor, request_id: int, first: int = 20) -> list[ProductMatch]:
    """The city's active products for the request's need, ranked, each with its reasons."""
    if not 1 <= first <= MAX_PAGE:
        raise Invalid("first must be between 1 and {max}", field="first", max=MAX_PAGE)
    got, need = await access_need(actor=actor, request_id=request_id)
    today = clock.now().date()
    with city_scope(actor):
        enterprise = await Enterprise.get(id=got.request.enterprise_id)
        facts = await facts_of(enterprise)
        out: list[ProductMatch] = []
        for product in await FinancingProduct.filter(status=ProductStatus.ACTIVE):
            try:
                rule = await parsed(product.rules)
            except Invalid:  # an area closed since: nobody matches it
                continue
            verdict = eligibility.evaluate(rule, facts, today)
            reasons = (*verdict.reasons, *term_reasons(product, need))
            out.append(
                ProductMatch(product, verdict.eligible and all(r.met for r in reasons), reasons)
            )
    return rank(out)[:first]
