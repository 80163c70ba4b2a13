"""The one clock: every "now" of the platform comes from :func:`now`.

Always aware UTC. Tests move it with :func:`travel` instead of sleeping or patching
``datetime``; the move is per task (a ``ContextVar``), so parallel tests don't see it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta

_offset: ContextVar[timedelta] = ContextVar("hotline_clock_offset", default=timedelta(0))


def now() -> datetime:
    return datetime.now(UTC) + _offset.get()


@contextmanager
def travel(to: datetime | timedelta) -> Iterator[None]:
    """Run the block as if it were ``to`` (an aware moment, or an offset from now)."""
    offset = to if isinstance(to, timedelta) else to - datetime.now(UTC)
    token = _offset.set(offset)
    try:
        yield
    finally:
        _offset.reset(token)
