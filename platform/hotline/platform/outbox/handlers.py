"""Which code delivers an outbox message of a given kind.

Each part declares its kinds in the ``hotline.outbox_handlers`` entry-point group
(``kind = "module:function"``, the function taking the :class:`OutboxMessage`), so the
delivery loop knows no kind by name and ``platform`` imports no part above it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import cache
from importlib.metadata import entry_points

from hotline.platform.outbox.models import OutboxMessage

Handler = Callable[[OutboxMessage], Awaitable[None]]


class UnknownKind(LookupError):
    """No part declared a handler for this kind (a configuration error: dead-lettered)."""


@cache
def _registry() -> dict[str, Handler]:
    return {entry.name: entry.load() for entry in entry_points(group="hotline.outbox_handlers")}


def handler_for(kind: str) -> Handler:
    try:
        return _registry()[kind]
    except KeyError:
        raise UnknownKind(f"no outbox handler for kind {kind!r}") from None
