"""Per-request dataloaders, created on first use and kept on the context (no N+1)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from hotline.schema.context import Info

K = TypeVar("K")
V = TypeVar("V")


def loader(
    info: Info, name: str, batch: Callable[[list[K]], Awaitable[Sequence[V]]]
) -> DataLoader[K, V]:
    existing: DataLoader[Any, Any] | None = info.context.loaders.get(name)
    if existing is None:
        existing = DataLoader(load_fn=batch)
        info.context.loaders[name] = existing
    return existing


def by_key(rows: Sequence[V], keys: Sequence[K], key: Callable[[V], K]) -> list[V | None]:
    """Order loaded rows like the requested keys; missing ones (other city, deleted) are None."""
    index = {key(row): row for row in rows}
    return [index.get(k) for k in keys]
