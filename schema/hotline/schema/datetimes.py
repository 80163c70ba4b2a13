"""Every ``DateTime`` of an answer in the current city's time zone (docs/calendar.md).

The database hands back UTC instants and the calendar math answers in the calendar's
zone; without one rule the same instant came back as ``…+00:00`` in one field and
``…+08:00`` in another. :data:`DATETIME` replaces strawberry's ``DateTime`` scalar
(``scalar_overrides`` in ``build_schema``): it serializes every aware datetime in the
zone of the request — the selected city's ``timezone``, else the province's (a
province-scope request), else the platform default ``Asia/Shanghai``.
:class:`AnswerZone` sets that zone once per operation; zones are cached per process
for a minute (a city's zone practically never changes). Naive datetimes never come
from our code (ruff DTZ); one that did would be read as UTC. Inputs must carry an
offset (:func:`parse_datetime`): a naive one is refused like a malformed value.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextvars import ContextVar
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.schema.types.base_scalars import DateTimeDefinition

from hotline.platform import clock
from hotline.platform.calendar import DEFAULT_TIMEZONE
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.kernel.access import Actor
from hotline.tenants.provinces.current import city_row
from hotline.tenants.provinces.models import Province, Tenant

DEFAULT_ZONE = ZoneInfo(DEFAULT_TIMEZONE)
CACHE_SECONDS = 60.0

_zone: ContextVar[ZoneInfo] = ContextVar("hotline_answer_zone", default=DEFAULT_ZONE)
_cache: dict[tuple[str, int], tuple[ZoneInfo, float]] = {}


def answer_zone() -> ZoneInfo:
    """The zone answers of the current operation are given in."""
    return _zone.get()


def serialize_datetime(value: object) -> str:
    if not isinstance(value, datetime):
        raise TypeError(f"DateTime cannot represent {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(_zone.get()).isoformat()


NAIVE_INPUT = "give the time with its offset, e.g. 2026-11-23T10:00:00+08:00"


def parse_datetime(value: object) -> datetime:
    """An input instant: ISO 8601 *with* an offset. A naive one named no instant (the
    fuzzer's ``receivedFrom: "0247-04-25T10:07:20"`` reached the ORM, which warned and
    would have read it as UTC); it is refused like any malformed value."""
    parse = DateTimeDefinition.parse_value
    assert parse is not None  # strawberry's DateTime always has one
    parsed = parse(value)
    if not isinstance(parsed, datetime) or parsed.utcoffset() is None:
        # a GraphQLError, like strawberry's own parse failures: a message about the value
        raise GraphQLError(f"Value cannot represent a DateTime: {value!r}; {NAIVE_INPUT}.")
    return parsed


DATETIME = dataclasses.replace(
    DateTimeDefinition,
    description=(
        "An instant, ISO 8601 with offset. Answers are in the selected city's time "
        "zone (Asia/Shanghai: +08:00); inputs need an offset."
    ),
    serialize=serialize_datetime,
    parse_value=parse_datetime,
)


async def zone_of(actor: Actor | None) -> ZoneInfo:
    """The city's zone, else the province's, else the platform default (cached)."""
    if actor is None:
        return DEFAULT_ZONE
    key: tuple[str, int]
    if actor.tenant_id is not None:
        key = ("tenant", actor.tenant_id)
    elif actor.province_id is not None:
        key = ("province", actor.province_id)
    else:
        return DEFAULT_ZONE
    cached = _cache.get(key)
    now = clock.monotonic()
    if cached is not None and cached[1] > now:
        return cached[0]
    with use_scope(Scope.platform()):
        row: Tenant | Province | None = (
            await city_row(key[1])  # identity read it in this request
            if key[0] == "tenant"
            else await Province.get_or_none(id=key[1])
        )
    zone = ZoneInfo(row.timezone) if row is not None else DEFAULT_ZONE
    _cache[key] = (zone, now + CACHE_SECONDS)
    return zone


def forget_zones() -> None:
    """Drop the cache (after a city's time zone changes, in this process)."""
    _cache.clear()


class AnswerZone(SchemaExtension):
    """Sets the answer zone of the operation from the request's actor."""

    async def on_operation(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        token = _zone.set(await zone_of(getattr(context, "actor", None)))
        try:
            yield
        finally:
            _zone.reset(token)
