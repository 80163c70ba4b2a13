"""Delivered outbox messages leave the hot table for ``outbox_delivered``, partitioned by
month (docs/operations.md "Partitioning"), and a send key is still written once: a key
already archived adds nothing, also when it is added while the archiver moves it; rows
still in flight (pending, dead) never move; a busy outbox makes the archiver give up for
this run instead of stalling writers."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from hotline.platform import clock, outbox
from hotline.platform.db import partitions
from hotline.platform.db.config import credentials
from hotline.platform.outbox import OutboxMessage, OutboxStatus
from hotline.platform.settings import Settings, get_settings, reset_settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.workers import tasks
from tests.partitions import owner_fetch


async def _add(key: str) -> int | None:
    return await outbox.add(kind="webhook", tenant_id=None, payload={"k": key}, send_key=key)


async def _sent(key: str) -> None:
    with use_scope(Scope.platform()):
        row = await OutboxMessage.get(send_key=key)
    await outbox.mark_sent(row)


async def _where(key: str) -> list[str]:
    rows = await owner_fetch(
        "SELECT 'outbox' AS p FROM outbox WHERE send_key = $1 UNION ALL"
        " SELECT tableoid::regclass::text FROM outbox_delivered WHERE send_key = $1",
        key,
    )
    return [r["p"] for r in rows]


def _later() -> datetime:
    return clock.now() + timedelta(minutes=1)


async def test_delivered_rows_move_to_their_month_and_keys_stay_unique(db: Settings) -> None:
    [parent] = await owner_fetch(
        "SELECT relkind::text AS kind, pg_get_partkeydef(oid) AS key FROM pg_class"
        " WHERE oid = 'outbox_delivered'::regclass"
    )
    assert dict(parent) == {"kind": "p", "key": "RANGE (created_at)"}

    assert await _add("a:1") is not None
    await _sent("a:1")
    assert await _add("a:pending") is not None
    assert await _add("a:dead") is not None
    with use_scope(Scope.platform()):
        dead = await OutboxMessage.get(send_key="a:dead")
    await outbox.mark_failed(dead, "no", permanent=True)

    # nothing delivered long enough ago yet (the cron's default: an hour)
    assert await tasks.archive_outbox({}) == 0
    assert await outbox.archive_delivered(older_than=_later()) == 1
    month = f"outbox_delivered_p{clock.now():%Y%m}"
    assert await _where("a:1") == [month]
    assert await _where("a:pending") == ["outbox"]
    assert await _where("a:dead") == ["outbox"]
    with use_scope(Scope.platform()):
        assert (await OutboxMessage.get(send_key="a:dead")).status == OutboxStatus.DEAD

    # an archived key is written once: add and add_many add nothing for it
    assert await _add("a:1") is None
    added = await outbox.add_many(
        [
            outbox.NewMessage(kind="webhook", tenant_id=None, province_id=None, payload={},
                              send_key=key)
            for key in ("a:1", "a:2")
        ]
    )  # fmt: skip
    assert added == 1
    assert await _where("a:1") == [month]

    # the monthly maintenance keeps the archive's months too
    done = await partitions.maintain(months_ahead=4, retention={})
    assert {d.table: d.made for d in done}["outbox_delivered"] == 1


async def test_a_key_added_while_it_moves_is_found_in_the_archive(db: Settings) -> None:
    assert await _add("b:1") is not None
    await _sent("b:1")
    archiver = await asyncpg.connect(**credentials(get_settings().database_url))
    try:
        # the archiver's batch, held open: the outbox is locked against writes
        tx = archiver.transaction()
        await tx.start()
        await archiver.execute("LOCK TABLE outbox IN SHARE ROW EXCLUSIVE MODE")
        await archiver.execute(
            "WITH m AS (DELETE FROM outbox WHERE send_key = 'b:1' RETURNING *)"
            " INSERT INTO outbox_delivered (id, created_at, tenant_id, province_id, kind,"
            " payload, send_key, attempts, sent_at) SELECT id, created_at, tenant_id,"
            " province_id, kind, payload, send_key, attempts, sent_at FROM m"
        )
        adding = asyncio.create_task(_add("b:1"))  # waits for the lock
        await asyncio.sleep(0.5)
        assert not adding.done()
        await tx.commit()
        assert await asyncio.wait_for(adding, 10) is None  # found in the archive
    finally:
        await archiver.close()
    assert await _where("b:1") == [f"outbox_delivered_p{clock.now():%Y%m}"]


async def test_a_busy_outbox_leaves_the_archive_to_the_next_run(db: Settings) -> None:
    assert await _add("c:1") is not None
    await _sent("c:1")
    writer = await asyncpg.connect(**credentials(get_settings().database_url))
    try:
        async with writer.transaction():  # a writer's transaction still open
            await writer.execute("UPDATE outbox SET updated_at = now() WHERE send_key = 'c:1'")
            assert await outbox.archive_delivered(older_than=_later(), lock_timeout_ms=200) == 0
    finally:
        await writer.close()
    assert await _where("c:1") == ["outbox"]
    assert await outbox.archive_delivered(older_than=_later()) >= 1
    assert await _where("c:1") == [f"outbox_delivered_p{clock.now():%Y%m}"]


async def test_the_archive_is_off_at_zero_minutes(db: Settings, monkeypatch: Any) -> None:
    """The rolling upgrade that introduces the archive runs with the move off (the
    previous release's pods never read it), then turns it on."""
    assert await _add("off:1") is not None
    await _sent("off:1")
    with clock.travel(timedelta(hours=2)):
        monkeypatch.setenv("HOTLINE_OUTBOX_ARCHIVE_AFTER_MINUTES", "0")
        reset_settings()
        try:
            assert await tasks.archive_outbox({}) == 0
            assert await _where("off:1") == ["outbox"]
        finally:
            monkeypatch.delenv("HOTLINE_OUTBOX_ARCHIVE_AFTER_MINUTES")
            reset_settings()
        assert await tasks.archive_outbox({}) == 1
    assert await _where("off:1") == [f"outbox_delivered_p{clock.now():%Y%m}"]
