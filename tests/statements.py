"""Counting the statements a piece of code sends: every query that reaches asyncpg's
connection (the ORM's and raw ones alike), in order, for the statement-count tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg
import pytest


@contextmanager
def counting(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    sent: list[str] = []
    for name in ("fetch", "fetchrow", "fetchval", "execute", "executemany"):
        original = getattr(asyncpg.connection.Connection, name)

        def wrapper(self: Any, query: str, *args: Any, _o: Any = original, **kw: Any) -> Any:
            sent.append(query)
            return _o(self, query, *args, **kw)

        monkeypatch.setattr(asyncpg.connection.Connection, name, wrapper)
    yield sent
    monkeypatch.undo()
