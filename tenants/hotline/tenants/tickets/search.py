"""A keyword search's page, on indexes under row-level security.

A keyword matches the exact number, or a substring of the content or the address (case
folded), as ``ILIKE`` does; that condition stays in the query as it is (exports use it
alone). ``ILIKE`` cannot use an index for the runtime role (RLS: only leakproof operators
become index conditions), so a search page first asks ``hotline_ticket_search``
(migration ``tickets/0003_keyword_search``), a SECURITY DEFINER function that filters by
the scope's city itself, which tickets to look at:

- **a rare keyword** (at most :data:`CANDIDATES` tickets hold its character bigrams, found
  on a GIN index): all of them, for any order and page;
- **a more common one**, newest first: the newest few pages' worth of tickets holding it
  before the cursor — from the index when at most :data:`COUNTED` hold its bigrams, else
  by a walk of the received-time index (short: the word is common);
- a common one in another order: nothing, and the plain condition decides.

The page then reads those ids by primary key (int8 equality is leakproof), still as the
runtime role under RLS and with the plain condition as a recheck: another city's id could
not come back, and a bigram match that is not a substring is dropped. A window of the
newest that the other filters thin out to less than a page falls back to the plain
condition. docs/inbox-and-search.md "Keyword search".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from hotline.platform.db.replica import read_connection
from hotline.tenants.tickets.models import Ticket

NUMBER_LENGTH = 24  # Ticket.number's column
# A rarer word's tickets are listed in full (any order, any page).
CANDIDATES = 2000
# A word found more often is taken newest first from the index up to this many; beyond,
# it is common and walked in received order. (At 50,000 the count of a common word took
# 9 s at 5,000,000 tickets, its heap rows rechecked; the walk took 65 ms.)
COUNTED = 10_000
# The newest window holds this many pages.
WINDOW_PAGES = 4

_SEARCH = "SELECT ids, complete FROM hotline_ticket_search($1, $2, $3, $4, $5, $6, $7)"


@dataclass(frozen=True)
class Candidates:
    ids: list[int] | None  # None: too many to list in the requested order
    complete: bool  # every ticket that may match; else the newest before the cursor


def keyword_q(text: str) -> Q:
    """The plain condition for ``text`` (stripped, non-empty): number, content, address."""
    words = Q(content__icontains=text) | Q(address__icontains=text)
    # a ticket number is at most NUMBER_LENGTH characters: a longer keyword is text
    if len(text) <= NUMBER_LENGTH:
        words |= Q(number=text.upper())
    return words


async def candidates(
    text: str,
    *,
    newest_first: bool,
    before: tuple[datetime, int] | None = None,
    size: int = 200,
) -> Candidates:
    """Which of the current city's tickets a search for ``text`` needs to look at: all
    that may hold it, or (newest first) the newest ``size`` holding it before ``before``."""
    at, below = before if before is not None else (None, None)
    rows = await read_connection().execute_query_dict(
        _SEARCH, [text, CANDIDATES, COUNTED, size, newest_first, at, below]
    )
    return Candidates(ids=rows[0]["ids"], complete=rows[0]["complete"])


async def keyword_page(
    query: QuerySet[Ticket],
    text: str,
    *,
    newest_first: bool,
    before: tuple[datetime, int] | None,
    limit: int,
    order: Callable[[QuerySet[Ticket]], QuerySet[Ticket]],
) -> list[Ticket]:
    """One page of ``query`` (which holds :func:`keyword_q`), read through the candidates."""
    found = await candidates(
        text, newest_first=newest_first, before=before, size=limit * WINDOW_PAGES
    )
    if found.ids is None:
        return list(await order(query).limit(limit))
    listed = Q(id__in=found.ids)  # an empty list is false
    if len(text) <= NUMBER_LENGTH:
        listed |= Q(number=text.upper())
    rows = list(await order(query.filter(listed)).limit(limit))
    # a newest window answers when the page filled inside it
    if found.complete or (len(rows) == limit and rows[-1].id in set(found.ids)):
        return rows
    return list(await order(query).limit(limit))
