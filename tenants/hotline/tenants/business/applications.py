"""Financing applications (docs/business.md, "Financing"): an enterprise applies for a
product on its financing request; the enterprise withdraws it while undecided, or the
product's bank approves it with an amount or rejects it. Every state change appends an
entry to the request's ticket timeline (the hash-chained one, through the work-order
engine's ``change``) in its own transaction; a decision also tells the enterprise's
people in-app through the outbox, in that same transaction.
"""

from __future__ import annotations

from decimal import Decimal

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from hotline.platform import outbox
from hotline.tenants.business.access import city_scope, own_enterprise_id, require_business
from hotline.tenants.business.financing import access_need
from hotline.tenants.business.models import (
    ApplicationStatus,
    BusinessRequest,
    EnterpriseMember,
    FinancingApplication,
    FinancingProduct,
    ProductStatus,
)
from hotline.tenants.business.products import checked_amount, kept_product, yuan
from hotline.tenants.business.requests import access_request
from hotline.tenants.kernel.access import Action, Actor, allowed
from hotline.tenants.kernel.errors import Conflict, Invalid, NotFound
from hotline.tenants.kernel.events import TicketEvent
from hotline.tenants.tickets.models import Ticket
from hotline.tenants.tickets.work import Change, change

MAX_NOTE = 500


DECIDED = "business.financing_decided"
# The timeline entry of each state an application enters.
EVENTS = {
    ApplicationStatus.APPLIED: TicketEvent.FINANCING_APPLIED,
    ApplicationStatus.WITHDRAWN: TicketEvent.FINANCING_WITHDRAWN,
    ApplicationStatus.APPROVED: TicketEvent.FINANCING_APPROVED,
    ApplicationStatus.REJECTED: TicketEvent.FINANCING_REJECTED,
}


async def _on_timeline(
    c: Change,
    ticket: Ticket,
    application: FinancingApplication,
    product: FinancingProduct,
    *,
    reason: str = "",
) -> None:
    """One timeline entry of the request's ticket for the application's new state, in the
    change's transaction (hash-chained with the ticket's other events)."""
    data: dict[str, object] = {
        "business_request": application.request_id,
        "financing_application": application.id,
        "product": product.id,
        "product_name": product.name,
        "bank": product.bank_id,
        "amount": str(application.amount),
    }
    if application.approved_amount is not None:
        data["approved_amount"] = str(application.approved_amount)
    await c.record(ticket, EVENTS[application.status], reason=reason, data=data)


async def _ticket_of(c: Change, request_id: int) -> Ticket:
    """The request's ticket, locked: every change of an application of one request is
    serialised by it (and its timeline's ``seq`` with it)."""
    request = await BusinessRequest.get(id=request_id)
    return await c.lock(request.ticket_id)


async def apply(
    *, actor: Actor, request_id: int, product_id: int, amount: Decimal | None = None
) -> FinancingApplication:
    """The enterprise applies for a product on its financing request (once per product)."""
    await require_business(actor, Action.BUSINESS_REQUEST_SUBMIT)
    got, need = await access_need(actor=actor, request_id=request_id)
    value = need.amount if amount is None else checked_amount(amount, "amount")
    async with change(actor, Action.BUSINESS_REQUEST_SUBMIT, checked=True) as c:
        product = await FinancingProduct.get_or_none(id=product_id, status=ProductStatus.ACTIVE)
        if product is None:
            raise NotFound("financing product", field="productId")
        if not product.min_amount <= value <= product.max_amount:
            raise Invalid(
                "the amount is outside the product's range {low}-{high} yuan",
                field="amount",
                low=yuan(product.min_amount),
                high=yuan(product.max_amount),
            )
        ticket = await c.lock(got.ticket.id)
        if await FinancingApplication.exists(request_id=got.request.id, product_id=product.id):
            raise Conflict("the enterprise applied for this product already", field="productId")
        try:
            made = await FinancingApplication.create(
                request_id=got.request.id,
                product_id=product.id,
                enterprise_id=got.request.enterprise_id,
                amount=value,
                status=ApplicationStatus.APPLIED,
                applied_by_id=actor.user_id,
            )
        except IntegrityError:  # the ticket's lock makes this unreachable; kept as a guard
            raise Conflict(
                "the enterprise applied for this product already", field="productId"
            ) from None
        await _on_timeline(c, ticket, made, product)
    return made


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
    """The enterprise withdraws its application while the bank has not decided."""
    found = await _own_application(actor, application_id)
    async with change(actor, Action.BUSINESS_REQUEST_SUBMIT, checked=True) as c:
        ticket = await _ticket_of(c, found.request_id)
        changed = await FinancingApplication.filter(
            id=found.id, status=ApplicationStatus.APPLIED
        ).update(status=ApplicationStatus.WITHDRAWN, decided_at=c.now)
        if not changed:
            raise Invalid("the application is decided already", field="id")
        withdrawn = await FinancingApplication.get(id=found.id)
        product = await FinancingProduct.get(id=withdrawn.product_id)
        await _on_timeline(c, ticket, withdrawn, product)
    return withdrawn


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
        product = await kept_product(actor, found.product_id, Action.FINANCING_DECIDE)
    except NotFound:
        raise NotFound("financing application") from None
    amount: Decimal | None = None
    if approved:
        if approved_amount is None:
            raise Invalid("an approval names its amount", field="approvedAmount")
        amount = checked_amount(approved_amount, "approvedAmount")
        if amount > product.max_amount:
            raise Invalid(
                "the amount is outside the product's range {low}-{high} yuan",
                field="approvedAmount",
                low=yuan(product.min_amount),
                high=yuan(product.max_amount),
            )
    # The bank acts on the request's ticket only through its product: the ticket is locked
    # for its timeline, not opened to the bank (no department wall is crossed).
    async with change(actor, Action.FINANCING_DECIDE, checked=True) as c:
        ticket = await _ticket_of(c, found.request_id)
        changed = await FinancingApplication.filter(
            id=found.id, status=ApplicationStatus.APPLIED
        ).update(
            status=ApplicationStatus.APPROVED if approved else ApplicationStatus.REJECTED,
            approved_amount=amount,
            note=text,
            decided_by_id=actor.user_id,
            decided_at=c.now,
        )
        if not changed:
            raise Invalid("the application is decided already", field="id")
        decided = await FinancingApplication.get(id=found.id)
        await _on_timeline(c, ticket, decided, product, reason=text)
        await _tell_enterprise(c.conn, decided, product, amount)
    return decided


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
    outcome = f"已批准，额度{yuan(amount)}元" if amount is not None else "未获批准"
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
            await kept_product(actor, product_id, Action.FINANCING_DECIDE)
        where = Q(product_id=product_id)
    with city_scope(actor):
        return await FinancingApplication.filter(where).order_by("-id").limit(500)
