"""Duplicate detection at intake: a new ticket that repeats an open one of the same
caller, or of the same place and category, within a window. The detector proposes a
merge to the center (``channel_duplicate_proposals``); it never merges by itself — the
center merges with ``mergeTickets`` or ignores the proposal.

:func:`reason` is the rule, pure and tested on a hand-built set (precision);
:func:`propose` applies it to the city's open tickets inside the new ticket's transaction.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q

from hotline.tenants.channels.models import DuplicateProposal
from hotline.tenants.tickets.flow import OPEN
from hotline.tenants.tickets.geo import haversine_m
from hotline.tenants.tickets.models import Ticket

WINDOW = timedelta(days=7)
# Two reports of one place: within this distance when both have coordinates.
SAME_PLACE_METERS = 150.0
MAX_PROPOSALS = 5
SAME_CALLER = "same_caller"
SAME_PLACE = "same_place"


@dataclass(frozen=True)
class Facts:
    """What the rule reads of a ticket."""

    id: int
    received_at: datetime
    is_open: bool
    phone_hash: str | None
    category_id: int | None
    area_id: int | None
    address: str
    lng: float | None
    lat: float | None

    @classmethod
    def of(cls, ticket: Ticket) -> Facts:
        return cls(
            id=ticket.id,
            received_at=ticket.received_at,
            is_open=ticket.status in OPEN,
            phone_hash=ticket.citizen_phone_hash,
            category_id=ticket.category_id,
            area_id=ticket.area_id,
            address=ticket.address,
            lng=_float(ticket.lng),
            lat=_float(ticket.lat),
        )


def _float(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)


def _address_key(address: str) -> str:
    text = unicodedata.normalize("NFKC", address).lower()
    return re.sub(r"[\s,，.。、\-#号]+", "", text)


def same_place(a: Facts, b: Facts) -> bool:
    """Coordinates decide when both have them; else the same written address when both
    have one; the same area (department) only when neither has either — a precise place
    beside a vague one is not taken as the same (it was the set's one false match)."""
    if a.lng is not None and a.lat is not None and b.lng is not None and b.lat is not None:
        return haversine_m(a.lng, a.lat, b.lng, b.lat) <= SAME_PLACE_METERS
    a_at = a.lng is not None and a.lat is not None
    b_at = b.lng is not None and b.lat is not None
    key_a, key_b = _address_key(a.address), _address_key(b.address)
    if key_a and key_b:
        return key_a == key_b
    if a_at or b_at or key_a or key_b:
        return False
    return a.area_id is not None and a.area_id == b.area_id


def reason(new: Facts, old: Facts, *, window: timedelta = WINDOW) -> str | None:
    """Why ``old`` may be the ticket ``new`` repeats, or None."""
    if old.id == new.id or not old.is_open:
        return None
    if not timedelta(0) <= new.received_at - old.received_at <= window:
        return None
    if new.phone_hash is not None and new.phone_hash == old.phone_hash:
        return SAME_CALLER
    if new.category_id is not None and new.category_id == old.category_id and same_place(new, old):
        return SAME_PLACE
    return None


async def propose(ticket: Ticket, *, conn: BaseDBAsyncClient) -> list[DuplicateProposal]:
    """Proposals for a new ticket of the current city, written on ``conn``."""
    if not ticket.citizen_phone_hash and ticket.category_id is None:
        return []
    wide = Q(id=-1)
    if ticket.citizen_phone_hash:
        wide |= Q(citizen_phone_hash=ticket.citizen_phone_hash)
    if ticket.category_id is not None:
        wide |= Q(category_id=ticket.category_id)
    new = Facts.of(ticket)
    rows = (
        await Ticket.filter(wide)
        .filter(
            status__in=list(OPEN),
            received_at__gte=ticket.received_at - WINDOW,
            received_at__lte=ticket.received_at,
        )
        .exclude(id=ticket.id)
        .order_by("-received_at", "-id")
        .limit(50)
        .using_db(conn)
    )
    proposals: list[DuplicateProposal] = []
    for row in rows:
        why = reason(new, Facts.of(row))
        if why is None:
            continue
        proposals.append(
            await DuplicateProposal.create(
                ticket_id=ticket.id, candidate_id=row.id, reason=why, using_db=conn
            )
        )
        if len(proposals) == MAX_PROPOSALS:
            break
    return proposals


async def proposals_of(ticket_id: int) -> list[DuplicateProposal]:
    """The proposals made for a ticket of the current city."""
    found: list[DuplicateProposal] = await DuplicateProposal.filter(ticket_id=ticket_id).order_by(
        "id"
    )
    return found
