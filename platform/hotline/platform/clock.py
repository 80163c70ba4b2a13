"""The one clock: every "now" of the platform comes from :func:`now`, and every age of a
per-process cache from :func:`monotonic`.

Always aware UTC. Tests move it with :func:`travel` instead of sleeping or patching
``datetime``, or stop it with :func:`freeze` (a cache filled under a frozen clock stays
fresh, so a test counting statements is not at the mercy of a slow machine); a move is
per task (a ``ContextVar``), so parallel tests don't see it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta

_offset: ContextVar[timedelta] = ContextVar("hotline_clock_offset", default=timedelta(0))
# (wall instant, monotonic reading) while frozen
_frozen: ContextVar[tuple[datetime, float] | None] = ContextVar(
    "hotline_clock_frozen", default=None
)


def now() -> datetime:
    frozen = _frozen.get()
    if frozen is not None:
        return frozen[0]
    return datetime.now(UTC) + _offset.get()


def monotonic() -> float:
    """Seconds on a clock that never goes back: for the age of a cached answer. It moves
    with :func:`travel` and stands still under :func:`freeze`."""
    frozen = _frozen.get()
    if frozen is not None:
        return frozen[1]
    return time.monotonic() + _offset.get().total_seconds()


@contextmanager
def travel(to: datetime | timedelta) -> Iterator[None]:
    """Run the block as if it were ``to`` (an aware moment, or an offset from now)."""
    offset = to if isinstance(to, timedelta) else to - datetime.now(UTC)
    token = _offset.set(offset)
    try:
        yield
    finally:
        _offset.reset(token)


@contextmanager
def freeze() -> Iterator[None]:
    """Run the block with the clock stopped at the moment it starts (travel included)."""
    token = _frozen.set((now(), monotonic()))
    try:
        yield
    finally:
        _frozen.reset(token)
