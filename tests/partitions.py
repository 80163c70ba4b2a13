"""What the month-partition tests read as the database owner (the catalog, a partition
directly): a fresh owner connection per read, so no scope or row security of the test's
own connection is in the way."""

from __future__ import annotations

from typing import Any

import asyncpg

from hotline.platform.db.config import credentials
from hotline.platform.settings import get_settings


async def owner_fetch(sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(**credentials(get_settings().database_url))
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def attached_partitions(table: str) -> dict[str, bool]:
    """Attached partitions of ``table`` and whether row security is on for each."""
    rows = await owner_fetch(
        "SELECT c.relname, c.relrowsecurity FROM pg_inherits i JOIN pg_class c"
        " ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass",
        table,
    )
    return {r["relname"]: r["relrowsecurity"] for r in rows}
