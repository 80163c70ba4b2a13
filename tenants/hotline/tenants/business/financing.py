"""Financing (docs/business.md, "Financing"): banks register loan products; an
enterprise's financing need (a business request of topic ``financing`` with a
``business_financing_needs`` row) is matched to them as a ranked list with reasons;
applications and their outcomes (approved with an amount, rejected, withdrawn) are
recorded and counted in the business figures.
(Over 400 lines: products, matching and applications share the product's compiled rules
and the reasons' wording.)

A bank is a department with the ``bank`` function (departments/functions.json),
registered like any department; its managers keep its products, its people decide its
applications. Who a product is for is the policies' rule language (``eligibility``):
industries and size classes become ``industry_in`` / ``size_in`` conditions beside any
other rule, so "why / why not" reads like a policy's. Amount, term and collateral are the
product's own terms, checked against the need here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from hotline.platform import clock, outbox
from hotline.tenants.business import eligibility
from hotline.tenants.business.access import city_scope, own_enterprise_id, require_business
from hotline.tenants.business.models import (
    ApplicationStatus,
    BusinessRequest,
    Collateral,
    Enterprise,
    EnterpriseMember,
    FinancingApplication,
    FinancingNeed,
    FinancingProduct,
    ProductStatus,
    RequestTopic,
    SizeClass,
)
from hotline.tenants.business.policies import facts_of, parsed
from hotline.tenants.business.requests import Request, access_request, submit_request
from hotline.tenants.business.rules import industry as known_industry
from hotline.tenants.departments.models import Department
from hotline.tenants.kernel.access import Action, Actor, allowed
from hotline.tenants.kernel.errors import Conflict, Invalid, NotFound

BANK = "bank"  # the department function of a bank (departments/functions.json)
MAX_NAME = 200
MAX_DESCRIPTION = 5000
MAX_NOTE = 500
MAX_TERM_MONTHS = 360
MAX_RATE = Decimal("36")  # % a year: the judicial protection ceiling for private lending
MAX_AMOUNT = Decimal("1e12")
MAX_PAGE = 100


def _amount(value: Decimal | str | int, field: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise Invalid("not an amount in yuan", field=field) from None
    if not amount.is_finite() or amount <= 0 or amount >= MAX_AMOUNT:
        raise Invalid("not an amount in yuan", field=field)
    return amount.quantize(Decimal("0.01"))


def _collateral(values: Sequence[Collateral | str], field: str) -> list[str]:
    try:
        kinds = sorted({Collateral(str(v)).value for v in values})
    except ValueError:
        raise Invalid("unknown collateral kind", field=field) from None
    return kinds


async def _own_paths(actor: Actor) -> list[str]:
    rows = await Department.filter(id__in=sorted(actor.department_ids)).values_list(
        "path", flat=True
    )
    return [str(p) for p in rows]


async def _bank(actor: Actor, bank_id: int, field: str = "bankId") -> Department:
    """A bank of the city the actor may act for: any (the city's admin) or one inside a
    department person's own subtree."""
    bank = await Department.get_or_none(id=bank_id, is_active=True)
    if bank is None or bank.function != BANK:
        raise NotFound("bank", field=field)
    if not allowed(actor, Action.BUSINESS_MANAGE) and not any(
        bank.path.startswith(p) for p in await _own_paths(actor)
    ):
        raise NotFound("bank", field=field)
    return bank


# --- products ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Terms:
    min_amount: Decimal
    max_amount: Decimal
    min_rate: Decimal
    max_rate: Decimal
    min_term_months: int
    max_term_months: int
    collateral: Sequence[Collateral]


def _checked(terms: Terms) -> dict[str, Any]:
    low, high = _amount(terms.min_amount, "minAmount"), _amount(terms.max_amount, "maxAmount")
    if low > high:
        raise Invalid("{key}: min is above max", field="maxAmount", key="amount")
    rates = (terms.min_rate, terms.max_rate)
    if not all(r.is_finite() and 0 < r <= MAX_RATE for r in rates):
        raise Invalid(
            "a rate is a yearly percentage above 0, at most {max}", field="minRate", max=MAX_RATE
        )
    if terms.min_rate > terms.max_rate:
        raise Invalid("{key}: min is above max", field="maxRate", key="rate")
    months = (terms.min_term_months, terms.max_term_months)
    if not all(1 <= m <= MAX_TERM_MONTHS for m in months):
        raise Invalid("a term is 1 to {max} months", field="minTermMonths", max=MAX_TERM_MONTHS)
    if terms.min_term_months > terms.max_term_months:
        raise Invalid("{key}: min is above max", field="maxTermMonths", key="term")
    collateral = _collateral(terms.collateral, "collateral")
    if not collateral:
        raise Invalid("name the collateral kinds the product accepts", field="collateral")
    return {
        "min_amount": low,
        "max_amount": high,
        "min_rate": terms.min_rate.quantize(Decimal("0.001")),
        "max_rate": terms.max_rate.quantize(Decimal("0.001")),
        "min_term_months": terms.min_term_months,
        "max_term_months": terms.max_term_months,
        "collateral": collateral,
    }


def product_rules(
    industries: Sequence[str], size_classes: Sequence[SizeClass], rules: Any | None
) -> dict[str, Any]:
    """One rule of the policies' language: the industries, the size classes, and any
    further rule, all to be met."""
    conditions: list[Any] = []
    if industries:
        for code in industries:
            code = code.strip().upper()
            if not (len(code) == 1 and code.isalpha()):  # a section letter passes as it is
                known_industry(code, field="industries")
        conditions.append({"industry_in": [c.strip().upper() for c in industries]})
    if size_classes:
        conditions.append({"size_in": sorted({SizeClass(s).value for s in size_classes})})
    if rules:
        conditions.append(rules)
    return {"op": "all", "conditions": conditions}


def audience(rules: Any) -> tuple[list[str], list[str]]:
    """The industries and size classes named at the rule's top level (for display)."""
    industries: list[str] = []
    sizes: list[str] = []
    for item in (rules or {}).get("conditions") or []:
        if isinstance(item, dict) and isinstance(item.get("industry_in"), list):
            industries += [str(c) for c in item["industry_in"]]
        if isinstance(item, dict) and isinstance(item.get("size_in"), list):
            sizes += [str(c) for c in item["size_in"]]
    return industries, sizes


async def create_product(
    *,
    actor: Actor,
    bank_id: int,
    name: str,
    description: str,
    terms: Terms,
    industries: Sequence[str] = (),
    size_classes: Sequence[SizeClass] = (),
    rules: Any | None = None,
) -> FinancingProduct:
    """A bank's product, active at once."""
    await require_business(actor, Action.FINANCING_MANAGE)
    name, description = name.strip(), description.strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise Invalid("the name must be 1-{max} characters", field="name", max=MAX_NAME)
    if len(description) > MAX_DESCRIPTION:
        raise Invalid(
            "the body has 1 to {max} characters", field="description", max=MAX_DESCRIPTION
        )
    values = _checked(terms)
    stored = product_rules(industries, size_classes, rules)
    with city_scope(actor):
        await _bank(actor, bank_id)
        await parsed(stored)  # the rule language's own checks (areas of this city …)
        return await FinancingProduct.create(
            bank_id=bank_id,
            name=name,
            description=description,
            rules=stored,
            created_by_id=actor.user_id,
            **values,
        )


async def _kept_product(actor: Actor, product_id: int, action: Action) -> FinancingProduct:
    """A product of a bank the actor acts for; NotFound otherwise."""
    await require_business(actor, action)
    with city_scope(actor):
        found = await FinancingProduct.get_or_none(id=product_id)
        if found is None:
            raise NotFound("financing product")
        try:
            await _bank(actor, found.bank_id)
        except NotFound:
            raise NotFound("financing product") from None
    return found


async def withdraw_product(*, actor: Actor, product_id: int) -> FinancingProduct:
    """No longer offered: not matched, not applied for (open applications stay)."""
    found = await _kept_product(actor, product_id, Action.FINANCING_MANAGE)
    with city_scope(actor):
        await FinancingProduct.filter(id=found.id).update(status=ProductStatus.WITHDRAWN)
        return await FinancingProduct.get(id=found.id)


async def list_products(
    *, actor: Actor, bank_id: int | None, after: int | None, first: int
) -> list[FinancingProduct]:
    """Newest first: the active products (everyone), withdrawn ones too for the city's
    staff. Banks' people see the catalogue they offer into."""
    await require_business(actor, Action.FINANCING_READ)
    if not 1 <= first <= MAX_PAGE:
        raise Invalid("first must be between 1 and {max}", field="first", max=MAX_PAGE)
    with city_scope(actor):
        query = FinancingProduct.all()
        if bank_id is not None:
            bank = await Department.get_or_none(id=bank_id)
            if bank is None or bank.function != BANK:
                raise NotFound("bank", field="bankId")
            query = query.filter(bank_id=bank_id)
        if not allowed(actor, Action.BUSINESS_READ):
            query = query.filter(status=ProductStatus.ACTIVE)
        if after is not None:
            query = query.filter(id__lt=after)
        return await query.order_by("-id").limit(first + 1)


# --- needs and matching -------------------------------------------------------------------


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
    value = _amount(amount, "amount")
    if not 1 <= term_months <= MAX_TERM_MONTHS:
        raise Invalid("a term is 1 to {max} months", field="termMonths", max=MAX_TERM_MONTHS)
    kinds = _collateral(collateral, "collateral")
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


def _yuan(amount: Decimal) -> str:
    return f"{amount:,.0f}"


def term_reasons(product: FinancingProduct, need: FinancingNeed) -> list[eligibility.Reason]:
    """Amount, term and collateral of the need against the product's terms."""
    reason = eligibility.Reason
    out: list[eligibility.Reason] = []
    low, high = _yuan(product.min_amount), _yuan(product.max_amount)
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


# --- applications -------------------------------------------------------------------------


async def apply(
    *, actor: Actor, request_id: int, product_id: int, amount: Decimal | None = None
) -> FinancingApplication:
    """The enterprise applies for a product on its financing request (once per product)."""
    await require_business(actor, Action.BUSINESS_REQUEST_SUBMIT)
    got, need = await access_need(actor=actor, request_id=request_id)
    value = need.amount if amount is None else _amount(amount, "amount")
    with city_scope(actor):
        product = await FinancingProduct.get_or_none(id=product_id, status=ProductStatus.ACTIVE)
        if product is None:
            raise NotFound("financing product", field="productId")
        if not product.min_amount <= value <= product.max_amount:
            raise Invalid(
                "the amount is outside the product's range {low}-{high} yuan",
                field="amount",
                low=_yuan(product.min_amount),
                high=_yuan(product.max_amount),
            )
        try:
            return await FinancingApplication.create(
                request_id=got.request.id,
                product_id=product.id,
                enterprise_id=got.request.enterprise_id,
                amount=value,
                status=ApplicationStatus.APPLIED,
                applied_by_id=actor.user_id,
            )
        except IntegrityError:
            raise Conflict(
                "the enterprise applied for this product already", field="productId"
            ) from None


async def _own_application(actor: Actor, application_id: int) -> FinancingApplication:
    """An application of the actor's enterprise (the enterprise wall), else NotFound."""
    await require_business(actor, Action.BUSINESS_REQUEST_SUBMIT)
    own = await own_enterprise_id(actor)
    with city_scope(actor):
        found = await FinancingApplication.get_or_none(id=application_id, enterprise_id=own)
    if found is None or own is None:
        raise NotFound("financing application")
    return found


async def withdraw_application(*, actor: Actor, application_id: int) -> FinancingApplication:
    found = await _own_application(actor, application_id)
    with city_scope(actor):
        changed = await FinancingApplication.filter(
            id=found.id, status=ApplicationStatus.APPLIED
        ).update(status=ApplicationStatus.WITHDRAWN, decided_at=clock.now())
        if not changed:
            raise Invalid("the application is decided already", field="id")
        return await FinancingApplication.get(id=found.id)


async def decide_application(
    *,
    actor: Actor,
    application_id: int,
    approved: bool,
    approved_amount: Decimal | None = None,
    note: str = "",
) -> FinancingApplication:
    """The bank's outcome: approved with an amount (at most the product's maximum), or
    rejected with a note."""
    await require_business(actor, Action.FINANCING_DECIDE)
    text = note.strip()
    if len(text) > MAX_NOTE:
        raise Invalid("a comment has at most {max} characters", field="note", max=MAX_NOTE)
    with city_scope(actor):
        found = await FinancingApplication.get_or_none(id=application_id)
    if found is None:
        raise NotFound("financing application")
    try:
        product = await _kept_product(actor, found.product_id, Action.FINANCING_DECIDE)
    except NotFound:
        raise NotFound("financing application") from None
    amount: Decimal | None = None
    if approved:
        if approved_amount is None:
            raise Invalid("an approval names its amount", field="approvedAmount")
        amount = _amount(approved_amount, "approvedAmount")
        if amount > product.max_amount:
            raise Invalid(
                "the amount is outside the product's range {low}-{high} yuan",
                field="approvedAmount",
                low=_yuan(product.min_amount),
                high=_yuan(product.max_amount),
            )
    with city_scope(actor):
        async with in_transaction("default") as conn:
            changed = (
                await FinancingApplication.filter(id=found.id, status=ApplicationStatus.APPLIED)
                .using_db(conn)
                .update(
                    status=ApplicationStatus.APPROVED if approved else ApplicationStatus.REJECTED,
                    approved_amount=amount,
                    note=text,
                    decided_by_id=actor.user_id,
                    decided_at=clock.now(),
                )
            )
            if not changed:
                raise Invalid("the application is decided already", field="id")
            await _tell_enterprise(conn, found, product, amount)
        return await FinancingApplication.get(id=found.id)


DECIDED = "business.financing_decided"


async def _tell_enterprise(
    conn: BaseDBAsyncClient,
    application: FinancingApplication,
    product: FinancingProduct,
    amount: Decimal | None,
) -> None:
    """The enterprise's people learn the outcome in-app (the decision's transaction; one
    message per person and application)."""
    users = (
        await EnterpriseMember.filter(enterprise_id=application.enterprise_id)
        .using_db(conn)
        .values_list("user_id", flat=True)
    )
    outcome = f"已批准，额度{_yuan(amount)}元" if amount is not None else "未获批准"
    await outbox.add_many(
        [
            outbox.NewMessage(
                kind="inapp",
                tenant_id=application.tenant_id,
                province_id=application.province_id,
                payload={
                    "user_id": user_id,
                    "event": DECIDED,
                    "subject": f"融资申请结果：{product.name}"[:200],
                    "body": f"您申请的「{product.name}」{outcome}。",
                    "financing_application": application.id,
                },
                send_key=f"financing:{application.tenant_id}:{application.id}:{user_id}",
            )
            for user_id in users
        ],
        connection=conn,
    )


async def list_applications(
    *, actor: Actor, request_id: int | None, product_id: int | None
) -> list[FinancingApplication]:
    """A request's applications (whoever may see the request), or a product's (its bank,
    the city's staff)."""
    if (request_id is None) == (product_id is None):
        raise Invalid("name a request or a product", field="requestId")
    if request_id is not None:
        got = await access_request(actor=actor, request_id=request_id)
        where = Q(request_id=got.request.id)
    else:
        assert product_id is not None
        if allowed(actor, Action.BUSINESS_READ):
            await require_business(actor, Action.BUSINESS_READ)
            with city_scope(actor):
                if not await FinancingProduct.exists(id=product_id):
                    raise NotFound("financing product")
        else:
            await _kept_product(actor, product_id, Action.FINANCING_DECIDE)
        where = Q(product_id=product_id)
    with city_scope(actor):
        return await FinancingApplication.filter(where).order_by("-id").limit(500)
