"""``transaction_after``: a statement that commits on its own, then a transaction on the
same connection (one pool acquire; a ticket's opening). Through a transaction-pooling
PgBouncer: ``test_pgbouncer`` creates tickets this way."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from hotline.platform.db.transactions import transaction_after
from hotline.platform.settings import Settings

_WHO = "SELECT pg_backend_pid() AS pid, pg_current_xact_id()::text AS xact"


async def _who(conn: BaseDBAsyncClient) -> dict[str, Any]:
    [row] = await conn.execute_query_dict(_WHO)
    return row


async def test_first_commits_alone_on_the_transactions_connection(db: Settings) -> None:
    seen: list[bool] = []

    async def first(conn: BaseDBAsyncClient, alone: bool) -> dict[str, Any]:
        seen.append(alone)
        return await _who(conn)

    async with transaction_after(first) as (conn, before):
        inside = await _who(conn)
    assert seen == [True]
    assert before is not None
    assert inside["pid"] == before["pid"]  # the same connection: one acquire
    assert inside["xact"] != before["xact"]  # its own transaction, committed before BEGIN


async def test_inside_a_callers_transaction_first_is_part_of_it(db: Settings) -> None:
    seen: list[bool] = []

    async def first(conn: BaseDBAsyncClient, alone: bool) -> dict[str, Any]:
        seen.append(alone)
        return await _who(conn)

    async with in_transaction("default") as outer:
        caller = await _who(outer)
        async with transaction_after(first) as (conn, before):  # a savepoint
            inside = await _who(conn)
    assert seen == [False]
    assert before == caller == inside


async def test_a_failing_first_begins_nothing_and_gives_the_connection_back(
    db: Settings,
) -> None:
    async def first(conn: BaseDBAsyncClient, alone: bool) -> None:
        await _who(conn)
        raise ValueError("the opening's check failed")

    # more failures than the pool has connections: a kept one would make the next wait
    for _ in range(db.database_pool_max * 2):
        with pytest.raises(ValueError, match="check failed"):
            async with asyncio.timeout(10), transaction_after(first):
                pytest.fail("the transaction must not begin")
    async with transaction_after(None) as (conn, nothing):
        assert nothing is None
        assert (await conn.execute_query_dict("SELECT 1 AS one")) == [{"one": 1}]


async def test_a_failing_begin_gives_the_connection_back(db: Settings) -> None:
    """``BEGIN`` after the opening fails (here: the opening left a transaction open, so
    asyncpg refuses to start one): the connection is not kept."""

    async def first(conn: BaseDBAsyncClient, alone: bool) -> None:
        await conn.execute_script("BEGIN")

    for _ in range(db.database_pool_max * 2):
        with pytest.raises(Exception, match="manually started transaction"):
            async with asyncio.timeout(10), transaction_after(first):
                pytest.fail("the transaction must not begin")
    async with transaction_after(None) as (conn, _):
        assert (await conn.execute_query_dict("SELECT 1 AS one")) == [{"one": 1}]
