"""The citizen's proof: a ticket number and its 6-digit query code, no login.

Every citizen face (progress lookup, rating, evidence) checks the proof here, so wrong
codes count against ONE budget per ticket number whichever face is tried: with a million
possible codes, a few failures an hour make guessing hopeless, while the citizen who
knows the code is never slowed down by successful calls.
"""

from __future__ import annotations

from hotline.platform import ratelimit
from hotline.platform.crypto import keyed_hash
from hotline.tenants.kernel.errors import NotFound, RateLimited
from hotline.tenants.tickets.models import Ticket
from hotline.tenants.tickets.numbering import query_code_matches

FAILURES_PER_NUMBER = 10  # per hour
FAILURE_WINDOW_SECONDS = 3600


async def proven_ticket(*, tenant_id: int, number: str, query_code: str) -> Ticket:
    """The ticket the proof names; one NotFound for a wrong code and an unknown number,
    RateLimited once the number has had too many wrong codes this hour."""
    number = number.strip().upper()
    budget = f"citizen-proof:{tenant_id}:{keyed_hash(number, 'citizen-proof')}"
    if await ratelimit.exhausted(
        budget, limit=FAILURES_PER_NUMBER, window_seconds=FAILURE_WINDOW_SECONDS
    ):
        raise RateLimited("too many wrong codes for this number; try again later")
    ticket = await Ticket.get_or_none(number=number)
    if ticket is None or not query_code_matches(
        tenant_id, query_code.strip(), ticket.query_code_hash
    ):
        await ratelimit.hit(
            budget, limit=FAILURES_PER_NUMBER, window_seconds=FAILURE_WINDOW_SECONDS
        )
        raise NotFound("ticket", field="number")
    return ticket
