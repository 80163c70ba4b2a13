"""Financing products (docs/business.md, "Financing"): a bank's loan products — amount,
rate and term ranges, the collateral kinds accepted, and who a product is for in the
policies' rule language (``eligibility``): industries and size classes become
``industry_in`` / ``size_in`` conditions beside any other rule, so "why / why not" reads
like a policy's.

A bank is a department with the ``bank`` function (departments/functions.json),
registered like any department; its managers keep its products, its people decide its
applications (``applications``). The amount and collateral checks here are shared by
needs (``financing``) and applications.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from hotline.tenants.business.access import city_scope, require_business
from hotline.tenants.business.models import (
    Collateral,
    FinancingProduct,
    ProductStatus,
    SizeClass,
)
from hotline.tenants.business.policies import parsed
from hotline.tenants.business.rules import industry as known_industry
from hotline.tenants.departments.models import Department
from hotline.tenants.kernel.access import Action, Actor, allowed
from hotline.tenants.kernel.errors import Invalid, NotFound

BANK = "bank"  # the department function of a bank (departments/functions.json)
MAX_NAME = 200
MAX_DESCRIPTION = 5000
MAX_TERM_MONTHS = 360
MAX_RATE = Decimal("36")  # % a year: the judicial protection ceiling for private lending
MAX_AMOUNT = Decimal("1e12")
MAX_PAGE = 100


def checked_amount(value: Decimal | str | int, field: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise Invalid("not an amount in yuan", field=field) from None
    if not amount.is_finite() or amount <= 0 or amount >= MAX_AMOUNT:
        raise Invalid("not an amount in yuan", field=field)
    return amount.quantize(Decimal("0.01"))


def collateral_kinds(values: Sequence[Collateral | str], field: str) -> list[str]:
    try:
        kinds = sorted({Collateral(str(v)).value for v in values})
    except ValueError:
        raise Invalid("unknown collateral kind", field=field) from None
    return kinds


def yuan(amount: Decimal) -> str:
    return f"{amount:,.0f}"


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
    low = checked_amount(terms.min_amount, "minAmount")
    high = checked_amount(terms.max_amount, "maxAmount")
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
    collateral = collateral_kinds(terms.collateral, "collateral")
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


async def kept_product(actor: Actor, product_id: int, action: Action) -> FinancingProduct:
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
    found = await kept_product(actor, product_id, Action.FINANCING_MANAGE)
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
