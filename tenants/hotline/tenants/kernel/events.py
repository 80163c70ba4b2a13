"""Domain events: what happened to a work order, told to whoever subscribed.

A ticket change never calls the domains that react to it (notifications, live views,
statistics …): it records typed :class:`TicketEvent` s on the unit of work, and when the
work is done the unit publishes them, as :class:`TicketChanged` snapshots of the ticket
*after* the change, to

* **in-transaction handlers** (``hotline.event_handlers`` entry points, phase ``tx``):
  they run inside the change's transaction, so what they write (outbox rows) commits
  or rolls back with it;
* **after-commit handlers** (phase ``after_commit``): they run once the transaction
  committed (live pushes); a failure there is logged, the change stands.

Handlers are found through the ``hotline.event_handlers`` entry-point group, each
naming a ``register(bus)`` function, so this module imports no domain above it and
no domain imports another to be told of a change.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import entry_points
from typing import Any, TypeVar

from hotline.platform import outbox

log = logging.getLogger(__name__)
T = TypeVar("T")


class TicketEvent(enum.StrEnum):
    """Every kind of thing that happens to a work order. The values are the timeline's
    ``action`` column (the deadline warnings are not written to the timeline)."""

    CREATED = "create"
    DISPATCHED = "dispatch"
    ANSWERED = "answer"
    CLOSED_ANSWERED = "close_answered"
    SAMPLED_FOR_REVISIT = "sample_revisit"
    SIGNED = "sign_for"
    RETURNED = "return"
    RETURN_REQUESTED = "return_requested"
    RETURN_REJECTED = "return_rejected"
    SUB_DISPATCHED = "sub_dispatch"
    SUB_REPLIED = "sub_reply"
    RECALLED = "recall"  # a sub-dispatch taken back by its parent's department
    OPINION = "opinion"
    REPLIED = "reply"
    EXTENSION_REQUESTED = "extension_requested"
    EXTENSION_APPROVED = "extension_approved"
    EXTENSION_REJECTED = "extension_rejected"
    EXTENSION_WITHDRAWN = "extension_withdrawn"
    REVIEW_APPROVED = "review_approve"
    REVIEW_REJECTED = "review_reject"
    REVISIT_ATTEMPT = "revisit_attempt"
    REVISIT_UNREACHABLE = "revisit_unreachable"
    REVISITED = "revisit"
    RATED = "rate"
    CANCELLED = "cancel"
    REJECTED = "reject"
    URGED = "urge"
    RECLASSIFIED = "reclassify"
    MERGED = "merge"
    MERGED_IN = "merged_in"
    TRANSFERRED = "transfer"
    TRANSFERRED_IN = "transfer_in"
    SUPERVISION_OPENED = "supervision_opened"
    SUPERVISION_ESCALATED = "supervision_escalated"
    SUPERVISION_COMMENT = "supervision_comment"
    SUPERVISION_CLOSED = "supervision_closed"
    DEADLINES_RECOMPUTED = "deadlines_recomputed"
    SUSPENSION_REQUESTED = "suspension_requested"
    SUSPENDED = "suspend"
    SUSPENSION_REJECTED = "suspension_rejected"
    RESUMED = "resume"
    SUPPLEMENTED = "supplement"  # the citizen added information (补充诉求)
    # A business request's financing applications (business.applications).
    FINANCING_APPLIED = "financing_applied"
    FINANCING_WITHDRAWN = "financing_withdrawn"
    FINANCING_APPROVED = "financing_approved"
    FINANCING_REJECTED = "financing_rejected"
    # Deadline warnings from the sweep (not on the timeline).
    DUE_SOON = "due_soon"
    SIGN_OVERDUE = "sign_overdue"


@dataclass(frozen=True)
class TicketChanged:
    """One event with the ticket as it stands after the change: all a handler may read of
    the ticket, so no handler needs to import the tickets domain."""

    kind: TicketEvent
    key: str  # names this occurrence; handlers derive idempotency keys from it
    tenant_id: int
    province_id: int
    ticket_id: int
    number: str
    status: str
    title: str
    content: str
    anonymous: bool
    citizen_phone_enc: str | None
    sign_deadline: datetime | None
    reply_deadline: datetime | None
    occurred_at: datetime
    department_id: int | None = None  # the department the event concerns, if any
    assignment_id: int | None = None
    timeline_event_id: int | None = None
    actor_user_id: int | None = None
    reason: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    # every department holding an assignment of the ticket (live inbox views)
    departments: tuple[int, ...] = ()
    channel: str = ""  # the channel the ticket came in by


Handler = Callable[[Sequence[TicketChanged]], Awaitable[None]]


class Bus:
    def __init__(self) -> None:
        self.in_transaction: list[Handler] = []
        self.after_commit: list[Handler] = []

    def subscribe(self, handler: Handler, *, after_commit: bool = False) -> None:
        (self.after_commit if after_commit else self.in_transaction).append(handler)


_bus: Bus | None = None


def bus() -> Bus:
    """The handlers of this process, registered once from the entry points."""
    global _bus
    if _bus is None:
        loaded = Bus()
        for entry in sorted(entry_points(group="hotline.event_handlers"), key=lambda e: e.name):
            entry.load()(loaded)
        _bus = loaded
    return _bus


_pending: ContextVar[list[Sequence[TicketChanged]] | None] = ContextVar(
    "hotline_after_commit", default=None
)
_memo: ContextVar[dict[Any, Any] | None] = ContextVar("hotline_unit_memo", default=None)


async def once(key: Any, load: Callable[[], Awaitable[T]]) -> T:
    """``load()``'s answer, read once per :func:`unit` under ``key`` (the city row a change
    and its handlers all need, say); outside a unit, read each time."""
    memo = _memo.get()
    if memo is None:
        return await load()
    if key not in memo:
        memo[key] = await load()
    value: T = memo[key]
    return value


def remember(key: Any, value: Any) -> None:
    """Give :func:`once` its answer for ``key`` ahead of time (read with another
    statement of the same unit); outside a unit, nothing is kept."""
    memo = _memo.get()
    if memo is not None:
        memo[key] = value


_outbox: ContextVar[list[outbox.NewMessage] | None] = ContextVar("hotline_outbox", default=None)


def defer_outbox(messages: Sequence[outbox.NewMessage]) -> bool:
    """Inside :func:`publish`'s in-transaction handlers: add ``messages`` to the one
    outbox INSERT written when the handlers are done (True); False elsewhere (the
    caller writes them itself)."""
    pending = _outbox.get()
    if pending is None:
        return False
    pending.extend(messages)
    return True


async def publish(
    events: Sequence[TicketChanged], messages: Sequence[outbox.NewMessage] = ()
) -> None:
    """Run the in-transaction handlers now (call this inside the change's transaction)
    and keep the events for the after-commit handlers of the enclosing :func:`unit`.
    ``messages`` (the change's own outbox rows) and the handlers' deferred ones are
    written together, in one statement."""
    if not events:
        await outbox.add_many(list(messages))
        return
    pending = list(messages)
    token = _outbox.set(pending)
    try:
        for handler in bus().in_transaction:
            await handler(events)
    finally:
        _outbox.reset(token)
    await outbox.add_many(pending)
    waiting = _pending.get()
    if waiting is not None:
        waiting.append(events)
    else:
        await _after_commit([events])


async def _after_commit(batches: list[Sequence[TicketChanged]]) -> None:
    for events in batches:
        for handler in bus().after_commit:
            try:
                await handler(events)
            except Exception:  # the change is committed; a lost push only delays a view
                log.warning("after-commit handler %r failed", handler, exc_info=True)


@asynccontextmanager
async def unit() -> AsyncIterator[None]:
    """Wrap a transaction: events published inside reach the after-commit handlers
    once the block ends without an error (nothing is told of a rolled-back change)."""
    if _pending.get() is not None:  # nested: the outer unit tells them
        yield
        return
    batches: list[Sequence[TicketChanged]] = []
    token = _pending.set(batches)
    memo = _memo.set({})
    try:
        yield
    finally:
        _pending.reset(token)
        _memo.reset(memo)
    await _after_commit(batches)
