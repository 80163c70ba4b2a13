"""The city row, read once per request.

Identity reads the selected city (by code or slug) to authenticate the caller; the
actor's membership check, a creation's number prefix and time zone, and the answer's
time zone each needed the same row again, a statement each. Within
:func:`request_cities` (the API opens it around each HTTP request) the row identity
read is remembered and :func:`city_row` answers it; outside (jobs, the CLI, a
websocket's long life, where the row could change underneath) every call reads.
A write to a city row forgets it (:func:`forget`), so a request that changes its city
reads the new row afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from hotline.tenants.provinces.models import Tenant

_remembered: ContextVar[dict[int, Tenant] | None] = ContextVar(
    "hotline_request_cities", default=None
)


@contextmanager
def request_cities() -> Iterator[None]:
    """Remember the city rows read in the block (one request)."""
    token = _remembered.set({})
    try:
        yield
    finally:
        _remembered.reset(token)


def remember(tenant: Tenant) -> None:
    """Keep ``tenant`` (just read) for the rest of the request, if one is open."""
    rows = _remembered.get()
    if rows is not None:
        rows[tenant.id] = tenant


def forget(tenant_id: int) -> None:
    """The city row changed: read it again when next asked."""
    rows = _remembered.get()
    if rows is not None:
        rows.pop(tenant_id, None)


async def city_row(tenant_id: int) -> Tenant | None:
    """The city's row: the one this request already read, else from the database."""
    rows = _remembered.get()
    if rows is not None and (row := rows.get(tenant_id)) is not None:
        return row
    row = await Tenant.get_or_none(id=tenant_id)
    if row is not None:
        remember(row)
    return row
