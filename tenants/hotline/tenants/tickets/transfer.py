"""Transfer: a province admin hands a work order to another city of the province.

The old ticket ends TRANSFERRED; the new city gets a fresh ticket with its own number
and query code; both keep the link. Runs under the province scope (RLS lets it see both
cities of that province, and no other).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hotline.platform.tenancy import Scope
from hotline.tenants.kernel.access import Action, Actor, require
from hotline.tenants.kernel.audit import record_audit
from hotline.tenants.kernel.errors import Invalid, NotFound
from hotline.tenants.kernel.events import TicketEvent
from hotline.tenants.provinces.models import Tenant
from hotline.tenants.tickets import flow, numbering, policy
from hotline.tenants.tickets.assignments import copy_deadlines, end_assignments
from hotline.tenants.tickets.flow import Action as FA
from hotline.tenants.tickets.flow import AssignmentAction as AA
from hotline.tenants.tickets.models import Status, Ticket
from hotline.tenants.tickets.work import change


@dataclass(frozen=True)
class Transfer:
    source: Ticket  # TRANSFERRED, in the old city
    target: Ticket  # RECEIVED, with its own number, in the new city
    query_code: str


async def transfer_ticket(
    *, actor: Actor, ticket_id: int, to_tenant_id: int, reason: str
) -> Transfer:
    reason = policy.required(reason, "reason")
    province_id = actor.province_id
    if province_id is None:
        raise NotFound("ticket")
    require(actor, Action.TICKET_TRANSFER, province_id=province_id)
    target_city = await Tenant.get_or_none(id=to_tenant_id, province_id=province_id, is_active=True)
    if target_city is None:
        raise NotFound("city", field="toTenantId")
    code = numbering.new_query_code()
    async with change(
        actor,
        Action.TICKET_TRANSFER,
        checked=True,
        scope=Scope.province(province_id, actor.user_id),
    ) as c:
        where: dict[str, Any] = {"id": ticket_id, "province_id": province_id}
        if actor.tenant_id is not None:
            where["tenant_id"] = actor.tenant_id
        source = await Ticket.across_tenants().filter(**where).select_for_update().first()
        if source is None:
            raise NotFound("ticket")
        c.hold(source)
        if source.tenant_id == target_city.id:
            raise Invalid("the ticket is already in that city", field="toTenantId")
        flow.check(source.status, FA.TRANSFER)
        number = await numbering.next_number(
            c.conn,
            tenant_id=target_city.id,
            province_id=province_id,
            prefix=target_city.number_prefix,
            timezone=target_city.timezone,
            at=c.now,
        )
        target = c.hold(
            await Ticket.create(
                tenant_id=target_city.id,
                province_id=province_id,
                number=number,
                query_code_hash=numbering.hash_query_code(target_city.id, code),
                channel=source.channel,
                kind=source.kind,
                priority=source.priority,
                title=source.title,
                content=source.content,
                citizen_name_enc=source.citizen_name_enc,
                citizen_phone_enc=source.citizen_phone_enc,
                citizen_phone_hash=source.citizen_phone_hash,
                anonymous=source.anonymous,
                confidential=source.confidential,
                address=source.address,
                lng=source.lng,
                lat=source.lat,
                created_by_id=actor.user_id,
                received_at=c.now,
                transferred_from_tenant_id=source.tenant_id,
                transferred_from_ticket_id=source.id,
            )
        )
        link = {"from_ticket": source.number, "to_ticket": number}
        await c.record(
            target,
            TicketEvent.TRANSFERRED_IN,
            actor_role="province_admin",
            from_status="",
            to_status=Status.RECEIVED.value,
            reason=reason,
            data={**link, "from_tenant": source.tenant_id},
        )
        source.transferred_to_tenant_id = target_city.id
        source.transferred_to_ticket_id = target.id
        copy_deadlines(source, None)
        await c.move(source, FA.TRANSFER, reason=reason, data={**link, "to_tenant": target_city.id})
        await end_assignments(c, source, AA.CANCEL, reason=f"the ticket is {source.status.value}")
        await record_audit(
            actor_id=actor.user_id,
            action="ticket.transfer",
            target=source.number,
            detail=link,
            tenant_id=source.tenant_id,
            province_id=province_id,
        )
    return Transfer(source=source, target=target, query_code=code)
