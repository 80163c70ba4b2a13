"""Outbox delivery in batches over kept-alive connections, still exactly once per send key
at the receiver, and the relay woken by the commit (LISTEN/NOTIFY); a real arq worker,
real receivers, real PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from tortoise.transactions import in_transaction

from hotline.platform import outbox
from hotline.platform.crypto import encrypt
from hotline.platform.jobs import pool, queue_name
from hotline.platform.outbox import OutboxMessage, OutboxStatus
from hotline.platform.outbox.store import lease
from hotline.platform.settings import Settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.notifications.delivery import deliver_batch
from hotline.tenants.notifications.models import WebhookEndpoint
from hotline.workers.relay import BATCH, OutboxListener, relay_outbox

if TYPE_CHECKING:
    from tests.workers.conftest import City, Receiver, World

pytestmark = pytest.mark.usefixtures("channels")
WEBHOOK_SECRET = "whsec-test-secret"  # the receiver's (tests/workers/conftest.py)


async def _webhooks(city: City, url: str, n: int, tag: str) -> tuple[WebhookEndpoint, list[int]]:
    """An endpoint of the city and ``n`` pending webhook messages to it."""
    with use_scope(city.scope()):
        hook = await WebhookEndpoint.create(
            name=tag, url=url, secret_enc=encrypt(WEBHOOK_SECRET), event_types=[]
        )
    added = await outbox.add_many(
        [
            outbox.NewMessage(
                kind="webhook",
                tenant_id=city.id,
                province_id=city.tenant.province_id,
                payload={"endpoint_id": hook.id, "event": {"type": "ticket.create", "n": i}},
                send_key=f"{tag}:{i}",
            )
            for i in range(n)
        ]
    )
    assert added == n
    with use_scope(Scope.platform()):
        rows = await OutboxMessage.filter(send_key__startswith=f"{tag}:").order_by("id")
    return hook, [r.id for r in rows]


async def _statuses(ids: list[int]) -> dict[OutboxStatus, int]:
    with use_scope(Scope.platform()):
        rows = await OutboxMessage.filter(id__in=ids)
    counts: dict[OutboxStatus, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    return counts


class _Statements(logging.Handler):
    """Counts the SQL statements Tortoise sends (its db_client logger, at DEBUG)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


@contextlib.contextmanager
def _counting() -> Iterator[_Statements]:
    counter = _Statements()
    db_log = logging.getLogger("tortoise.db_client")
    level = db_log.level
    db_log.addHandler(counter)
    db_log.setLevel(logging.DEBUG)
    try:
        yield counter
    finally:
        db_log.removeHandler(counter)
        db_log.setLevel(level)


async def test_the_relay_hands_out_one_job_per_batch_of_one_city(
    world: World, receiver: Receiver, burst: Any
) -> None:
    receiver.reset()
    n = BATCH * 2 + 7
    alpha_hook, alpha_ids = await _webhooks(world.alpha, receiver.url + "/ok", n, "ab")
    beta_hook, beta_ids = await _webhooks(world.beta, receiver.url + "/ok", 3, "bb")
    redis = await pool()
    queued_before = await redis.zcard(queue_name())
    assert await relay_outbox({}) == n + 3
    # alpha: ⌈n / BATCH⌉ = 3 jobs; beta: 1 job (a batch never mixes cities)
    assert await redis.zcard(queue_name()) - queued_before == 4
    await burst()
    for _ in range(10):  # a connection refused under load is retried, as in production
        if OutboxStatus.PENDING not in await _statuses(alpha_ids + beta_ids):
            break
        await asyncio.sleep(0.05)
        await relay_outbox({})
        await burst()
    assert await _statuses(alpha_ids + beta_ids) == {OutboxStatus.SENT: n + 3}
    keys = [f"ab:{i}" for i in range(n)] + [f"bb:{i}" for i in range(3)]
    assert receiver.applications == dict.fromkeys(keys, 1)
    assert receiver.bad_signatures == 0
    with use_scope(world.alpha.scope()):
        await alpha_hook.delete()
    with use_scope(world.beta.scope()):
        await beta_hook.delete()


async def test_a_batch_reuses_its_connection_and_costs_a_constant_number_of_statements(
    world: World, receiver: Receiver
) -> None:
    receiver.reset()
    hook, ids = await _webhooks(world.alpha, receiver.url + "/ok", 30, "keep")
    with use_scope(world.alpha.scope()), _counting() as statements:
        first = await deliver_batch(outbox_ids=ids[:15], concurrency=1)
        second = await deliver_batch(outbox_ids=ids[15:], concurrency=1)
    assert first == {"settled": 0, "sent": 15}
    assert second == {"settled": 0, "sent": 15}
    # per batch: read the messages, read their endpoints, settle them (nothing per message)
    assert statements.count == 2 * 3
    assert len(receiver.requests) == 30
    # one message after the other, two batches (two jobs): all over one TCP connection
    assert len({r["peer"] for r in receiver.requests}) == 1
    assert await _statuses(ids) == {OutboxStatus.SENT: 30}
    # a batch run again (its job repeated) finds its messages settled and sends nothing
    with use_scope(world.alpha.scope()):
        assert await deliver_batch(outbox_ids=ids[:15]) == {"settled": 15}
    assert len(receiver.requests) == 30
    with use_scope(world.alpha.scope()):
        await hook.delete()


async def test_a_worker_killed_mid_batch_applies_every_message_once(
    world: World, receiver: Receiver, new_worker: Any, burst: Any
) -> None:
    receiver.reset()
    ok_hook, ok_ids = await _webhooks(world.alpha, receiver.url + "/ok", 5, "kill-ok")
    stall_hook, stall_ids = await _webhooks(world.alpha, receiver.url + "/stall", 1, "kill-st")
    assert await relay_outbox({}) == 6  # one batch: one job
    # one job at most: arq re-queues a cancelled job, and a loaded machine can let this
    # worker's poll loop take it again before the cancellation of its main task lands
    first = await new_worker(max_jobs=1)
    running = asyncio.create_task(first.async_run())
    # the stalled request is in; wait until the receiver has applied all six keys
    assert await asyncio.to_thread(receiver.stalled.wait, 30)
    for _ in range(2000):
        if len(receiver.applications) == 6:
            break
        await asyncio.sleep(0.01)
    assert len(receiver.applications) == 6
    first.handle_sig(signal.SIGTERM)  # the worker dies before the batch is settled
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(running, 5)
    receiver.released.set()
    with warnings.catch_warnings():
        # arq cancelled mid-poll leaves a redis-py pipeline to the garbage collector,
        # whose ResourceWarning would surface in whichever test runs next
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
    assert await _statuses(ok_ids + stall_ids) == {OutboxStatus.PENDING: 6}
    # the job runs again: every key arrives twice, and is applied once
    await burst()
    assert await _statuses(ok_ids + stall_ids) == {OutboxStatus.SENT: 6}
    keys = [f"kill-ok:{i}" for i in range(5)] + ["kill-st:0"]
    assert sorted(r["key"] for r in receiver.requests) == sorted(keys * 2)
    assert receiver.applications == dict.fromkeys(keys, 1)
    with use_scope(world.alpha.scope()):
        await ok_hook.delete()
        await stall_hook.delete()


async def test_failures_in_a_batch_are_retried_alone(world: World, receiver: Receiver) -> None:
    receiver.reset()
    ok_hook, ok_ids = await _webhooks(world.alpha, receiver.url + "/ok", 3, "mix-ok")
    down_hook, down_ids = await _webhooks(world.alpha, receiver.url + "/down", 2, "mix-down")
    with use_scope(world.alpha.scope()):
        counts = await deliver_batch(outbox_ids=ok_ids + down_ids)
    assert counts == {"settled": 0, "sent": 3, "retry": 2}
    assert await _statuses(ok_ids) == {OutboxStatus.SENT: 3}
    with use_scope(Scope.platform()):
        down = await OutboxMessage.filter(id__in=down_ids)
    assert {(r.status, r.attempts) for r in down} == {(OutboxStatus.PENDING, 1)}
    assert all("HTTP 503" in r.last_error for r in down)
    with use_scope(world.alpha.scope()):
        await ok_hook.delete()
        await down_hook.delete()
    with use_scope(Scope.platform()):
        await OutboxMessage.filter(id__in=down_ids).delete()


async def test_another_citys_messages_in_a_batch_are_not_delivered(
    world: World, receiver: Receiver
) -> None:
    """A batch job runs in one city's scope: another city's endpoint is not found there."""
    receiver.reset()
    hook, ids = await _webhooks(world.beta, receiver.url + "/ok", 2, "cross")
    with use_scope(world.alpha.scope()):
        counts = await deliver_batch(outbox_ids=ids)
    assert counts == {"settled": 0, "dead": 2}
    assert receiver.requests == []
    with use_scope(world.beta.scope()):
        await hook.delete()
    with use_scope(Scope.platform()):
        await OutboxMessage.filter(id__in=ids).delete()


async def test_a_committed_row_wakes_the_relay_without_waiting_for_the_poll(
    world: World, receiver: Receiver, channels: Settings, burst: Any
) -> None:
    """No cron runs here: only the LISTEN connection can hand the new row out."""
    receiver.reset()
    with use_scope(world.alpha.scope()):
        hook = await WebhookEndpoint.create(
            name="wake", url=receiver.url + "/ok", secret_enc=encrypt(WEBHOOK_SECRET)
        )
    listener = OutboxListener(channels)
    await listener.start()
    try:
        for _ in range(3000):  # its first relay (rows committed before it listened) ran
            if listener.relays >= 1 and not listener.wake.is_set():
                break
            await asyncio.sleep(0.01)
        before, handed = listener.relays, listener.handed
        async with in_transaction():
            added = await outbox.add(
                kind="webhook",
                tenant_id=world.alpha.id,
                province_id=world.alpha.tenant.province_id,
                payload={"endpoint_id": hook.id, "event": {"type": "ticket.create"}},
                send_key="wake:1",
            )
        assert added is not None
        claimed = False
        for _ in range(3000):  # at most 30 s on a loaded machine
            with use_scope(Scope.platform()):
                row = await OutboxMessage.get(id=added)
            # a claim moves the due time a lease ahead
            if row.next_attempt_at > datetime.now(UTC) + lease() / 2:
                claimed = True
                break
            await asyncio.sleep(0.01)
        assert claimed
        assert listener.relays > before
        for _ in range(3000):  # the claim commits first; the job is enqueued just after
            if listener.handed > handed:
                break
            await asyncio.sleep(0.01)
        assert listener.handed > handed
    finally:
        await listener.stop()
    await burst()
    assert await _statuses([added]) == {OutboxStatus.SENT: 1}
    assert receiver.applications == {"wake:1": 1}
    with use_scope(world.alpha.scope()):
        await hook.delete()
