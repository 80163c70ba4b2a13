"""Relations that resolve synchronously when the request already holds the rows.

A list query primes the per-request dataloaders in a few batched statements (see
``queries.prefetch``); the relation fields then find done futures and return plain
values, so graphql-core completes the page without a task per field. Otherwise the
field returns an awaitable, which graphql-core awaits like any async resolver's result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, cast

from strawberry.dataloader import DataLoader

K = TypeVar("K")
V = TypeVar("V")
R = TypeVar("R")


def now_or_later(loader: DataLoader[K, V], key: K, convert: Callable[[V], R]) -> R:
    """``convert(row)`` now if loaded, else an awaitable of it (typed as the value on
    purpose: the resolver's declared type is what the schema shows)."""
    future = loader.cache_map.get(key)
    if (
        future is not None
        and future.done()
        and not future.cancelled()
        and future.exception() is None
    ):
        return convert(future.result())

    async def later() -> R:
        return convert(await loader.load(key))

    return cast(R, later())
