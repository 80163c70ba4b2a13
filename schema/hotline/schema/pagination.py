"""Keyset (cursor) pagination for Relay connections: stable under inserts, no OFFSET."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

import strawberry

from hotline.tenants.kernel.errors import Invalid

Node = TypeVar("Node")
Row = TypeVar("Row")

MAX_PAGE = 100


@strawberry.type(description="Relay's page info; lists page forward (first/after).")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool = strawberry.field(
        description="True when this page was asked for after a cursor."
    )
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[Node]):
    cursor: str
    node: Node


@strawberry.type
class Connection(Generic[Node]):
    edges: list[Edge[Node]]
    page_info: PageInfo

    @strawberry.field
    def nodes(self) -> list[Node]:
        return [edge.node for edge in self.edges]


def encode_cursor(key: int) -> str:
    return base64.urlsafe_b64encode(f"k:{key}".encode()).decode()


def decode_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        if not text.startswith("k:"):
            raise ValueError(text)
        return int(text[2:])
    except ValueError as exc:
        raise Invalid("malformed cursor", field="after") from exc


def page_size(first: int | None) -> int:
    if first is None:
        return 50
    if not 1 <= first <= MAX_PAGE:
        raise Invalid("first must be between 1 and {max}", max=MAX_PAGE, field="first")
    return first


def build_connection(
    rows: Sequence[Row],
    size: int,
    key: Callable[[Row], Any],
    convert: Callable[[Row], Node],
    *,
    after: str | None,
    encode: Callable[[Any], str] = encode_cursor,
) -> Connection[Node]:
    """The one connection builder: ``rows`` were fetched with ``limit size + 1`` (the
    extra row only says there is more); ``key`` is a row's position, ``encode`` turns it
    into the opaque cursor (an id by default; the ticket lists' keyset otherwise)."""
    edges = [Edge(cursor=encode(key(row)), node=convert(row)) for row in rows[:size]]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(rows) > size,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )
