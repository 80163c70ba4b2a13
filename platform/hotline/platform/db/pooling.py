"""Connections behind a transaction-pooling PgBouncer (``HOTLINE_DATABASE_POOLING=transaction``).

A transaction-mode pooler hands each *transaction* to whichever server connection is
free, so nothing set for the session survives to the next statement: the default
scheme (``RESET ALL; set_config(..., false)`` when the pool hands out a connection,
:func:`hotline.platform.db.config.apply_scope`) would leave one city's scope on a server
connection where another client's next statement runs — a cross-tenant read.
``tests/platform/test_pgbouncer.py`` shows that leak through a real PgBouncer.

In transaction mode every acquired connection is therefore **always inside a
transaction that carries its own scope**:

- acquiring opens it: ``BEGIN; SET LOCAL statement_timeout …; SET LOCAL app.scope …``
  (one round trip; ``SET LOCAL`` ends with the transaction, so nothing is left on the
  server connection);
- releasing commits it — what autocommit would have committed, one statement per
  acquire as Tortoise issues them — or rolls it back when a transaction block was left
  open (a cancelled task);
- ``connection.transaction()`` (Tortoise's ``in_transaction``, ``execute_many``)
  *adopts* it: ``COMMIT; BEGIN <isolation/read only>; SET LOCAL …`` in one round trip,
  so a transaction keeps its own characteristics and what ran before it commits as
  before; its ``COMMIT``/``ROLLBACK`` opens the next scoped transaction in the same
  round trip. Savepoints are asyncpg's own.

No statement of the runtime ever runs outside a scoped transaction, so a scope left on
a server connection by anyone else is never read. asyncpg's statement cache is off in
this mode (PgBouncer 1.18 does not track prepared statements across server
connections; 1.21+ can with ``max_prepared_statements``), and the pool's startup
parameters are only those PgBouncer tracks (``statement_timeout`` and the replica's
read-only default move into the transaction).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from asyncpg import connresource
from asyncpg.transaction import Transaction, TransactionState

from hotline.platform.tenancy import current_scope, rls_local_sql

_END = frozenset({"COMMIT", "ROLLBACK", "END", "ABORT"})
_ISOLATION = {
    "read_committed": "ISOLATION LEVEL READ COMMITTED",
    "read_uncommitted": "ISOLATION LEVEL READ UNCOMMITTED",
    "repeatable_read": "ISOLATION LEVEL REPEATABLE READ",
    "serializable": "ISOLATION LEVEL SERIALIZABLE",
}


class TransactionPooledConnection(asyncpg.Connection):  # type: ignore[misc]
    """An asyncpg connection that is always in a scoped transaction while acquired."""

    # set by the pool's setup hook on acquire, cleared on release
    _hotline_locals: str | None = None
    _hotline_read_only: bool = False

    def _hotline_begin(self, characteristics: str = "") -> str:
        modes = [characteristics] if characteristics else []
        if self._hotline_read_only and "READ ONLY" not in characteristics:
            modes.append("READ ONLY")
        begin = " ".join(["BEGIN", *modes])
        return f"{begin}; {self._hotline_locals}"

    async def hotline_open(self, local_sql: str, *, read_only: bool) -> None:
        """Open the acquire's scoped transaction (the pool's ``setup`` hook)."""
        self._hotline_locals = local_sql
        self._hotline_read_only = read_only
        await super().execute(self._hotline_begin())

    async def execute(
        self,
        query: str,
        *args: Any,
        timeout: float | None = None,  # noqa: ASYNC109 -- asyncpg's signature
    ) -> str:
        # The end of a transaction block (asyncpg's own 'COMMIT;' / 'ROLLBACK;') opens the
        # next scoped transaction in the same round trip: nothing runs unscoped.
        if (
            not args
            and self._hotline_locals is not None
            and self._top_xact is None
            and query.strip().rstrip(";").strip().upper() in _END
        ):
            query = f"{query.strip().rstrip(';')}; {self._hotline_begin()}"
        result: str = await super().execute(query, *args, timeout=timeout)
        return result

    def transaction(
        self,
        *,
        isolation: str | None = None,
        readonly: bool = False,
        deferrable: bool = False,
    ) -> Transaction:
        self._check_open()
        return _AdoptingTransaction(self, isolation, readonly, deferrable)

    async def _reset(self) -> None:
        # Called by the pool before its reset hook on every release: commit the acquire's
        # transaction (an open transaction *block* is rolled back by asyncpg below).
        locals_sql, self._hotline_locals = self._hotline_locals, None
        if locals_sql is not None and self._top_xact is None and self.is_in_transaction():
            await super().execute("COMMIT")
        await super()._reset()


class _AdoptingTransaction(Transaction):  # type: ignore[misc]
    """A top-level transaction block on an acquired connection: it replaces the acquire's
    transaction (committed first) with one of its own characteristics, scoped likewise."""

    __slots__ = ()

    @connresource.guarded  # type: ignore[untyped-decorator]
    async def start(self) -> None:
        xact: Any = self  # asyncpg's Transaction is untyped
        con: TransactionPooledConnection = xact._connection
        if con._top_xact is not None or con._hotline_locals is None:
            await super().start()  # a savepoint, or not acquired from the pool
            return
        if xact._state is not TransactionState.NEW:
            raise asyncpg.InterfaceError(f"cannot start; the transaction is {xact._state.name}")
        modes = []
        if xact._isolation:
            modes.append(_ISOLATION[xact._isolation])
        if xact._readonly:
            modes.append("READ ONLY")
        if xact._deferrable:
            modes.append("DEFERRABLE")
        try:
            await asyncpg.Connection.execute(con, "COMMIT; " + con._hotline_begin(" ".join(modes)))
        except BaseException:
            xact._state = TransactionState.FAILED
            raise
        con._top_xact = self
        xact._state = TransactionState.STARTED


def scope_setup(
    *, statement_timeout_ms: int, read_only: bool
) -> Callable[[asyncpg.Connection], Awaitable[None]]:
    """The pool's ``setup`` hook in transaction mode: open the acquire's transaction with
    the statement timeout and the task's row-level-security scope, all ``SET LOCAL``."""
    timeout = f"SET LOCAL statement_timeout = {int(statement_timeout_ms)}"

    async def setup(connection: Any) -> None:
        local_sql = f"{timeout}; {rls_local_sql(current_scope())}"
        await connection.hotline_open(local_sql, read_only=read_only)

    return setup
