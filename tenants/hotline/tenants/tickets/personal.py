"""Personal data of callers: masked for every reader, revealed (audited) to those who
must call back, a caller's history by the keyed hash of the phone, and the citizen's own
view of progress by number and query code — no login, no personal data, rate-limited.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import datetime

from hotline.platform import ratelimit
from hotline.platform.crypto import decrypt, keyed_hash
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.categories.models import Category
from hotline.tenants.kernel.access import Action, Actor, allowed, require
from hotline.tenants.kernel.audit import record_audit
from hotline.tenants.kernel.errors import NotFound, PermissionDenied, RateLimited
from hotline.tenants.kernel.roles import Role
from hotline.tenants.provinces.models import Tenant
from hotline.tenants.tickets.access import (
    access_ticket,
    reading_paths,
    sees_whole_city,
    visible_assignments,
)
from hotline.tenants.tickets.citizen import proven_ticket
from hotline.tenants.tickets.models import Assignment, AssignmentStatus, Kind, Status, Ticket
from hotline.tenants.tickets.phones import mask_phone, phone_hash

PUBLIC_LOOKUPS_PER_IP = 30  # a minute
PUBLIC_LOOKUPS_PER_NUMBER = 10  # a minute per client: slows guessing one ticket's code


@dataclass(frozen=True)
class PublicTicket:
    """What a citizen with the number and query code may see: no personal data."""

    number: str
    status: Status
    kind: Kind
    category_name: str | None
    received_at: datetime
    dispatched_at: datetime | None
    accepted_at: datetime | None
    replied_at: datetime | None
    closed_at: datetime | None
    public_reply: str
    rated: bool
    # a duplicate merged into another work order: the number to follow instead
    merged_into_number: str | None = None


@dataclass(frozen=True)
class CitizenContact:
    name: str | None
    phone: str | None


def mask_name(name: str) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧***; a single character stays as it is."""
    return name[:1] + "*" * (len(name) - 1)


async def citizen_history(
    *, actor: Actor, phone: str, limit: int = 20, ip: str | None = None
) -> list[Ticket]:
    """A caller's earlier tickets, newest first, found by the keyed hash of the phone."""
    require(actor, Action.CITIZEN_HISTORY)
    rows = (
        await Ticket.filter(citizen_phone_hash=phone_hash(phone))
        .order_by("-received_at", "-id")
        .limit(limit)
    )
    await record_audit(
        actor_id=actor.user_id,
        action="citizen.history",
        target=f"phone:{mask_phone(phone)}",
        detail={"results": len(rows)},
        tenant_id=actor.tenant_id,
        province_id=actor.province_id,
        ip=ip,
    )
    return list(rows)


def masked_citizen(ticket: Ticket) -> CitizenContact:
    """The citizen as every reader sees it: masked, nothing for anonymous tickets."""
    if ticket.anonymous:
        return CitizenContact(name=None, phone=None)
    name = decrypt(ticket.citizen_name_enc) if ticket.citizen_name_enc else None
    phone = decrypt(ticket.citizen_phone_enc) if ticket.citizen_phone_enc else None
    return CitizenContact(
        name=mask_name(name) if name else None, phone=mask_phone(phone) if phone else None
    )


async def reveal_citizen(*, actor: Actor, ticket_id: int, ip: str | None = None) -> CitizenContact:
    """The citizen's name and phone in clear; every call is audited.

    Department roles see it for tickets their subtree holds a live assignment of (they
    call the citizen first, 先行联系). Confidential tickets reveal only to the center's
    supervisors and administrators."""
    require(actor, Action.CITIZEN_REVEAL)
    ticket = await access_ticket(actor=actor, ticket_id=ticket_id)
    if ticket.anonymous:
        return CitizenContact(name=None, phone=None)
    if (
        ticket.confidential
        and not actor.roles & {Role.SUPERVISOR, Role.TENANT_ADMIN}
        and not actor.is_province_admin
    ):
        raise PermissionDenied("the citizen asked for confidentiality")
    if not sees_whole_city(actor) and not await _holds_assignment(actor, ticket.id):
        raise PermissionDenied("your department holds no assignment of this ticket")
    await record_audit(
        actor_id=actor.user_id,
        action="citizen.reveal",
        target=f"ticket:{ticket.id}",
        detail={"number": ticket.number},
        tenant_id=ticket.tenant_id,
        province_id=ticket.province_id,
        ip=ip,
    )
    return CitizenContact(
        name=decrypt(ticket.citizen_name_enc) if ticket.citizen_name_enc else None,
        phone=decrypt(ticket.citizen_phone_enc) if ticket.citizen_phone_enc else None,
    )


async def _holds_assignment(actor: Actor, ticket_id: int) -> bool:
    """Whether the actor's departments (subtrees) hold a live assignment of the ticket:
    one not returned or cancelled."""
    query = Assignment.filter(ticket_id=ticket_id).exclude(
        status__in=[AssignmentStatus.RETURNED, AssignmentStatus.CANCELLED]
    )
    return await visible_assignments(query, await reading_paths(actor)).exists()


def may_reveal(actor: Actor) -> bool:
    return allowed(actor, Action.CITIZEN_REVEAL)


_NUMBER_PREFIX = re.compile(r"([A-Z]{2,4})[0-9]")


async def _public_ticket_by_prefix(
    *, actor: Actor, number: str, query_code: str, ip: str | None
) -> PublicTicket:
    """:func:`public_ticket` in the city whose ``number_prefix`` starts ``number``."""
    found = _NUMBER_PREFIX.match(number.strip().upper())
    cities = (
        await Tenant.filter(number_prefix=found.group(1), is_active=True).order_by("id")
        if found
        else []
    )
    if not cities:
        # as many tries as a city allows, then the same refusal as there
        if not await ratelimit.hit(
            f"public-ticket:ip:-:{ip or 'unknown'}", limit=PUBLIC_LOOKUPS_PER_IP, window_seconds=60
        ):
            raise RateLimited("too many lookups, try again in a minute")
        raise NotFound("ticket", field="number")
    refused: NotFound | None = None
    for city in cities:  # a prefix is normally one city's; each is asked in turn
        with use_scope(Scope.city(city.id, city.province_id, actor.user_id)):
            try:
                return await public_ticket(
                    actor=dataclasses.replace(
                        actor, tenant_id=city.id, province_id=city.province_id
                    ),
                    number=number,
                    query_code=query_code,
                    ip=ip,
                )
            except NotFound as exc:
                refused = exc
    assert refused is not None
    raise refused


async def public_ticket(
    *, actor: Actor, number: str, query_code: str, ip: str | None
) -> PublicTicket:
    """Progress for whoever holds the number and query code; rate-limited, no personal data.

    A wrong code and an unknown number give the same NotFound. With no city selected
    the number's prefix (each city's ``number_prefix``, ``JN…``) names the city; an
    unknown prefix is that same NotFound."""
    if actor.tenant_id is None:
        return await _public_ticket_by_prefix(
            actor=actor, number=number, query_code=query_code, ip=ip
        )
    number = number.strip().upper()
    ip_ok = await ratelimit.hit(
        f"public-ticket:ip:{actor.tenant_id}:{ip or 'unknown'}",
        limit=PUBLIC_LOOKUPS_PER_IP,
        window_seconds=60,
    )
    number_ok = await ratelimit.hit(
        # per client too: a flood from elsewhere must not shut the citizen out
        f"public-ticket:number:{actor.tenant_id}:{keyed_hash(number, 'public-lookup')}:{ip}",
        limit=PUBLIC_LOOKUPS_PER_NUMBER,
        window_seconds=60,
    )
    if not (ip_ok and number_ok):
        raise RateLimited("too many lookups, try again in a minute")
    ticket = await proven_ticket(
        tenant_id=actor.tenant_id, number=number, query_code=query_code, client=ip
    )
    category_name: str | None = None
    if ticket.category_id is not None:
        category = await Category.get_or_none(id=ticket.category_id)
        category_name = category.name if category else None
    shown = Status.CLOSED if ticket.status is Status.MERGED else ticket.status
    merged_into: str | None = None
    if ticket.merged_into_id is not None:
        kept = await Ticket.get_or_none(id=ticket.merged_into_id)
        merged_into = kept.number if kept else None
    return PublicTicket(
        number=ticket.number,
        status=shown,
        kind=ticket.kind,
        category_name=category_name,
        received_at=ticket.received_at,
        dispatched_at=ticket.dispatched_at,
        accepted_at=ticket.accepted_at,
        replied_at=ticket.replied_at,
        closed_at=ticket.closed_at,
        public_reply=ticket.public_reply,
        rated=ticket.satisfaction_source == "citizen",
        merged_into_number=merged_into,
    )
