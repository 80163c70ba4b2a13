"""A transaction preceded by one statement that commits on its own, on the same connection.

Some work needs a statement committed *before* its transaction — a ticket's opening
takes the day's number with a row lock that must not be held until the ticket commits
(creations in a city would queue behind each other). Run on a connection of its own, it
costs a second pool acquire and the scope round trip that every acquire makes
(:func:`hotline.platform.db.config.apply_scope`). :func:`transaction_after` runs it on
the transaction's own connection, acquired once, before ``BEGIN``:

- directly connected, the statement runs in autocommit and commits alone;
- behind a transaction-pooling PgBouncer the acquire has opened a scoped transaction
  (:mod:`hotline.platform.db.pooling`) and the statement runs in it; ``BEGIN`` adopts
  that transaction (``COMMIT; BEGIN; SET LOCAL …``), which commits the statement first —
  the same outcome;
- inside a caller's transaction there is nothing to commit alone: the statement runs in
  it and the block is a savepoint, as :func:`tortoise.transactions.in_transaction`'s.

When the statement (or ``first``, around it) or the ``BEGIN`` after it fails — or the
task is cancelled meanwhile — no transaction is left and the connection goes back to the
pool.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any, TypeVar

from tortoise.backends.base.client import (
    BaseDBAsyncClient,
    NestedTransactionContext,
    TransactionalDBClient,
    TransactionContextPooled,
)
from tortoise.connection import get_connections
from tortoise.transactions import in_transaction

T = TypeVar("T")
# ``first(conn, alone)``: ``alone`` is True when what it runs on ``conn`` commits on its
# own (not inside a caller's transaction). It sends its statements through ``conn`` only:
# the ORM's connection of the task is not yet the transaction's while it runs.
First = Callable[[BaseDBAsyncClient, bool], Awaitable[T]]


class _FirstThenBegin(TransactionContextPooled):
    """Tortoise's pooled transaction context, with ``first`` run between the pool's
    acquire and ``BEGIN`` (its exit — commit or rollback, release — is Tortoise's)."""

    def __init__(self, context: TransactionContextPooled, first: First[Any]) -> None:
        super().__init__(context.client, context._pool_init_lock)
        self._first = first
        self.value: Any = None

    async def __aenter__(self) -> TransactionalDBClient:
        await self.ensure_connection()
        pool = self.client._parent._pool
        connection = self.client._connection = await pool.acquire()
        try:
            self.value = await self._first(self.client, True)
            await self.client.begin()
        except BaseException:
            # no transaction to exit: the connection goes back (a half-begun transaction
            # is rolled back by the pool's reset), and the first error is what is raised
            with suppress(Exception):
                await pool.release(connection)
            raise
        self.token = get_connections().set(self.connection_name, self.client)
        return self.client


@asynccontextmanager
async def transaction_after(
    first: First[T] | None, connection_name: str = "default"
) -> AsyncIterator[tuple[TransactionalDBClient, T | None]]:
    """``first`` on a connection, then a transaction on the same one: yields the
    transaction's client and what ``first`` returned (without ``first``: Tortoise's
    ``in_transaction`` and None)."""
    context = in_transaction(connection_name)
    if first is None:
        async with context as conn:
            yield conn, None
    elif isinstance(context, TransactionContextPooled):
        opened = _FirstThenBegin(context, first)
        async with opened as conn:
            yield conn, opened.value
    elif isinstance(context, NestedTransactionContext):  # inside a caller's transaction
        value = await first(get_connections().get(connection_name), False)
        async with context as conn:
            yield conn, value
    else:
        raise TypeError(f"no pooled or nested transaction for {connection_name!r}")
