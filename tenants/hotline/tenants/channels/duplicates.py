"""Duplicate detection at intake: a new ticket that repeats an open one of the same
caller, or of the same place and category, within a window. The detector proposes a
merge to the center (``channel_duplicate_proposals``); it never merges by itself — the
center merges with ``mergeTickets`` or ignores the proposal.

:func:`reason` is the rule, pure and tested on a hand-built set (precision);
:func:`propose` applies it, inside the new ticket's transaction, to the city's open
tickets its creation read with its opening statement (:data:`REPEATS`, one round trip
for the checks, the number and these candidates).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple

from tortoise.backends.base.client import BaseDBAsyncClient

from hotline.platform import clock
from hotline.tenants.channels.models import DuplicateProposal, ProposalStatus
from hotline.tenants.tickets.flow import OPEN
from hotline.tenants.tickets.geo import haversine_m
from hotline.tenants.tickets.intake import Earlier, Repeats
from hotline.tenants.tickets.models import Ticket

WINDOW = timedelta(days=7)
# Two reports of one place: within this distance when both have coordinates.
SAME_PLACE_METERS = 150.0
MAX_PROPOSALS = 5
SAME_CALLER = "same_caller"
SAME_PLACE = "same_place"
NAMES_TICKET = "names_ticket"  # the message names the ticket (a mail not appended to it)


class Facts(NamedTuple):
    """What the rule reads of a ticket (a tuple: a creation builds up to 55 of them)."""

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


@lru_cache(maxsize=4096)  # a new ticket is compared with up to 55 open ones, each time
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


# The candidates are read with the creation's opening statement (``intake.Repeats``):
# the caller's newest open tickets (each one is a proposal, so MAX_PROPOSALS of them are
# enough) and the category's newest open ones, which the rule sifts for the same place.
# How many of the category's newest open tickets the place rule looks at.
PLACE_CANDIDATES = 50
REPEATS = Repeats(window=WINDOW, callers=MAX_PROPOSALS, nearby=PLACE_CANDIDATES)

_INSERT = """
INSERT INTO channel_duplicate_proposals
  (tenant_id, province_id, ticket_id, candidate_id, reason, status, created_at)
SELECT $1, $2, $3, c, r, $6, $7 FROM unnest($4::bigint[], $5::text[]) AS u(c, r)
RETURNING id, candidate_id
"""


async def propose(
    ticket: Ticket,
    earlier: Sequence[Earlier],
    *,
    conn: BaseDBAsyncClient,
    named: Sequence[int] = (),
) -> list[DuplicateProposal]:
    """Proposals for a new ticket of the current city among ``earlier`` (its creation
    read them, :data:`REPEATS`), written on ``conn`` (one INSERT when there are any).
    ``named``: open tickets of the city the message names (checked by the caller),
    proposed first."""
    found: list[tuple[int, str]] = [
        (i, NAMES_TICKET) for i in dict.fromkeys(named) if i != ticket.id
    ][:MAX_PROPOSALS]
    if len(found) < MAX_PROPOSALS:
        new = Facts.of(ticket)
        for row in earlier:
            old = Facts(
                id=row.id,
                received_at=row.received_at,
                is_open=True,  # the read takes open tickets only
                phone_hash=row.phone_hash,
                category_id=row.category_id,
                area_id=row.area_id,
                address=row.address,
                lng=_float(row.lng),
                lat=_float(row.lat),
            )
            why = reason(new, old)
            if why is not None and all(old.id != c for c, _ in found):
                found.append((old.id, why))
                if len(found) == MAX_PROPOSALS:
                    break
    return await _insert(ticket, found, conn)


async def _insert(
    ticket: Ticket, found: list[tuple[int, str]], conn: BaseDBAsyncClient
) -> list[DuplicateProposal]:
    if not found:
        return []
    status, created_at = ProposalStatus.PROPOSED, clock.now()
    written = await conn.execute_query_dict(
        _INSERT,
        [
            ticket.tenant_id,
            ticket.province_id,
            ticket.id,
            [c for c, _ in found],
            [r for _, r in found],
            status.value,
            created_at,
        ],
    )
    ids = {int(r["candidate_id"]): int(r["id"]) for r in written}
    proposals = []
    for candidate_id, why in found:
        proposal = DuplicateProposal(
            id=ids[candidate_id],
            tenant_id=ticket.tenant_id,
            province_id=ticket.province_id,
            ticket_id=ticket.id,
            candidate_id=candidate_id,
            reason=why,
            status=status,
            created_at=created_at,
        )
        proposal._saved_in_db = True
        proposals.append(proposal)
    return proposals


async def proposals_of(ticket_id: int) -> list[DuplicateProposal]:
    """The proposals made for a ticket of the current city."""
    found: list[DuplicateProposal] = await DuplicateProposal.filter(ticket_id=ticket_id).order_by(
        "id"
    )
    return found
