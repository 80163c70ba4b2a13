"""The outbox relay: hands due outbox rows to delivery jobs, in batches.

It runs when a committed outbox row announces itself (``LISTEN`` on the outbox channel,
:class:`OutboxListener`, started with the worker) and, as the safety net, from a cron
every two seconds (a notification lost with a dropped connection, a retry coming due).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from typing import Any

import asyncpg
import structlog

from hotline.platform import clock, jobs, outbox
from hotline.platform.db.config import credentials
from hotline.platform.observability import state
from hotline.platform.settings import Settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.workers.retry import retrying

log = structlog.get_logger(__name__)

# Messages per delivery job: one job's overhead (queue, city lookup, claim, settle) is
# shared by this many messages; small enough that a batch finishes in well under a second.
BATCH = 50


def batch_job_id(rows: list[outbox.Relayed]) -> str:
    """One job id per claim of a set of messages (message, attempt, lease): a batch
    handed out again because its worker vanished gets a new job at once, while the dead
    worker's job stays blocked in arq until arq's own timeout. Two jobs for one message
    never deliver it at once: each takes the messages' lease locks first
    (hotline.platform.outbox.lease). arq's job keys are global to the Redis database, so
    ``jobs.enqueue`` adds the deployment prefix."""
    pairs = ",".join(
        f"{r.outbox_id}:{r.attempt}:{int(r.lease_until.timestamp() * 1000)}" for r in rows
    )
    return f"outbox:{rows[0].outbox_id}:{hashlib.sha256(pairs.encode()).hexdigest()[:16]}"


async def _enqueue(tenant_id: int | None, rows: list[outbox.Relayed]) -> None:
    await jobs.enqueue(
        "deliver_batch",
        tenant_id=tenant_id,
        job_id=batch_job_id(rows),
        outbox_ids=[r.outbox_id for r in rows],
    )


@retrying
async def relay_outbox(ctx: dict[str, Any], *, limit: int = 500, batch: int = BATCH) -> int:
    """Relay due rows until fewer than ``limit`` are due; returns how many were handed out."""
    total = 0
    with use_scope(Scope.platform()):
        while True:
            handed = await outbox.relay_due_batches(_enqueue, limit=limit, batch=batch)
            total += handed
            if handed < limit:
                break
        await publish_state()
    return total


# The outbox state (hotline.platform.observability.state) at most this often per process.
STATE_EVERY_SECONDS = 10.0
_published_at = 0.0


async def publish_state(*, force: bool = False) -> None:
    """Outbox lag, dead letters and the queue length for ``/metrics``: two index reads
    (``outbox_due``, ``outbox_dead``) and a ZCARD; never fails the relay."""
    global _published_at
    if not force and time.monotonic() - _published_at < STATE_EVERY_SECONDS:
        return
    _published_at = time.monotonic()
    try:
        stats = await outbox.stats(clock.now())
        redis = await jobs.pool()
        queues = {
            "default": int(await redis.zcard(jobs.queue_name())),
            "bulk": int(await redis.zcard(jobs.queue_name(bulk=True))),
        }
        await state.publish_outbox(
            oldest_due_seconds=stats.oldest_due_seconds, dead=stats.dead, queues=queues
        )
    except Exception as exc:
        log.warning("metrics.outbox_state_failed", error=f"{type(exc).__name__}: {exc}")


class OutboxListener:
    """Relays as soon as a transaction that wrote outbox rows commits.

    One dedicated connection LISTENs on the outbox channel; notifications arriving while
    a relay runs are folded into one more run. A dropped connection is reopened (the
    cron keeps relaying meanwhile).
    """

    RECONNECT_SECONDS = 2.0

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.connection: asyncpg.Connection | None = None
        self.relays = 0  # relay runs started by a notification (for tests and benchmarks)
        self.handed = 0  # rows those runs handed to delivery jobs (enqueued)

    async def start(self) -> None:
        if self.url is None:
            # LISTEN needs a session; through a transaction-mode pooler its notifications
            # would go to whichever client the server connection serves next
            log.info("outbox.listener_off", reason="transaction pooling, no listen URL")
            return
        await self._connect()
        self.task = asyncio.create_task(self._run(), name="outbox-listener")

    @property
    def url(self) -> str | None:
        """Where to LISTEN: HOTLINE_DATABASE_LISTEN_URL, else the runtime URL unless it
        leads to a transaction-mode pooler (then nowhere: the cron relays alone)."""
        if self.settings.database_listen_url:
            return self.settings.database_listen_url
        if self.settings.database_pooling == "transaction":
            return None
        return self.settings.app_database_url()

    async def _connect(self) -> None:
        assert self.url is not None
        self.connection = await asyncpg.connect(**credentials(self.url))
        await self.connection.add_listener(outbox.CHANNEL, self._notified)
        self.wake.set()  # rows committed while nobody listened

    def _notified(self, *_: object) -> None:
        self.wake.set()

    async def _run(self) -> None:
        while True:
            try:
                if self.connection is None or self.connection.is_closed():
                    await self._connect()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), self.RECONNECT_SECONDS)
                if not self.wake.is_set():
                    continue
                self.wake.clear()
                self.relays += 1
                self.handed += await relay_outbox({})
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the cron is the safety net: log, wait, go on
                log.warning("outbox.listener_failed", error=f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(self.RECONNECT_SECONDS)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None
        if self.connection is not None:
            await self.connection.close()
            self.connection = None
