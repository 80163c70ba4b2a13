"""The citizen's proof: a ticket number and its 6-digit query code, no login.

Every citizen face (progress lookup, rating, supplements, evidence) checks the proof
here, so wrong codes count against the same budgets whichever face is tried:

- per (number, client address): ``FAILURES_PER_CLIENT`` wrong codes an hour, then that
  client is refused (``RATE_LIMITED``) for the rest of the hour;
- per number, from anywhere: from the ``FAILURES_PER_NUMBER``-th wrong code in an hour
  on, every attempt on the number waits a growing delay (1 s, 2, 4 … at most
  ``MAX_DELAY_SECONDS``), so guessing from many addresses stays hopeless (at most one
  guess a minute: a million codes) while the citizen who knows the code is never locked
  out for long — they answer ``RATE_LIMITED`` "try again in N seconds" at worst.

Successful calls never count. (Before, ten wrong codes from anywhere locked the
citizen out of their own ticket for an hour.) docs/security.md.
"""

from __future__ import annotations

import math

from hotline.platform import ratelimit
from hotline.platform.client import current_client
from hotline.platform.crypto import keyed_hash
from hotline.tenants.kernel.errors import NotFound, RateLimited
from hotline.tenants.tickets.models import NUMBER_MAX, Ticket
from hotline.tenants.tickets.numbering import query_code_matches

FAILURES_PER_CLIENT = 5  # per hour, per (number, client)
FAILURES_PER_NUMBER = 10  # per hour from anywhere, before the slow-down starts
MAX_DELAY_SECONDS = 60.0
FAILURE_WINDOW_SECONDS = 3600


async def proven_ticket(
    *, tenant_id: int, number: str, query_code: str, client: str | None = None
) -> Ticket:
    """The ticket the proof names; one NotFound for a wrong code and an unknown number,
    RateLimited while this client's budget for the number is spent or the number's
    slow-down lasts. ``client``: the caller's address (default: the request's)."""
    number = number.strip().upper()
    per_number = f"citizen-proof:{tenant_id}:{keyed_hash(number, 'citizen-proof')}"
    per_client = f"{per_number}:{client or current_client() or 'unknown'}"
    if await ratelimit.exhausted(
        per_client, limit=FAILURES_PER_CLIENT, window_seconds=FAILURE_WINDOW_SECONDS
    ):
        raise RateLimited("too many wrong codes for this number; try again later")
    wait = await ratelimit.delay_left(per_number)
    if wait > 0:
        raise RateLimited(
            "too many wrong codes for this number; try again in {seconds} seconds",
            seconds=math.ceil(wait),
        )
    ticket = await Ticket.get_or_none(number=number) if len(number) <= NUMBER_MAX else None
    if ticket is None or not query_code_matches(
        tenant_id, query_code.strip(), ticket.query_code_hash
    ):
        await ratelimit.hit(
            per_client, limit=FAILURES_PER_CLIENT, window_seconds=FAILURE_WINDOW_SECONDS
        )
        await ratelimit.add_failure(
            per_number,
            free=FAILURES_PER_NUMBER,
            base=1.0,
            cap=MAX_DELAY_SECONDS,
            forget_seconds=FAILURE_WINDOW_SECONDS,
        )
        raise NotFound("ticket", field="number")
    return ticket
