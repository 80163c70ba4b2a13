"""The address of the client the current request comes from (after trusted proxies), for
limits that count per client deep in the domain without threading it through every call.

Set by the API's identity middleware for each request; ``None`` outside a request (CLI,
workers, tests calling services directly).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_client: ContextVar[str | None] = ContextVar("hotline_client_address", default=None)


def current_client() -> str | None:
    return _client.get()


@contextmanager
def use_client(address: str | None) -> Iterator[None]:
    token = _client.set(address)
    try:
        yield
    finally:
        _client.reset(token)
