"""SIGTERM on a real worker process: the job it is running finishes (the receiver answers
after the signal) and the worker exits by itself; a job outlasting the drain is cancelled
and queued again by arq, and a later worker delivers it — nothing is lost either way."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from tortoise.transactions import in_transaction

from hotline.platform.crypto import encrypt
from hotline.platform.outbox import OutboxMessage, OutboxStatus
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.kernel.events import TicketEvent
from hotline.tenants.notifications.models import WebhookEndpoint
from hotline.tenants.notifications.rules import on_ticket_events
from hotline.tenants.tickets.models import Assignment
from hotline.tenants.tickets.snapshots import snapshot
from hotline.workers.relay import relay_outbox

if TYPE_CHECKING:
    from tests.workers.conftest import Receiver, World

pytestmark = pytest.mark.usefixtures("channels")
WEBHOOK_SECRET = "whsec-test-secret"  # the receiver's (tests/workers/conftest.py)


async def _rows(**filters: object) -> list[OutboxMessage]:
    with use_scope(Scope.platform()):
        return await OutboxMessage.filter(**filters).order_by("id")


async def _stalled_message(world: World, receiver: Receiver, new_ticket: Any, name: str) -> int:
    """One webhook message to the receiver's stalling endpoint, relayed to a job."""
    receiver.reset()
    with use_scope(world.alpha.scope()):
        await WebhookEndpoint.all().delete()  # an earlier test's endpoint
        hook = await WebhookEndpoint.create(
            name=name, url=receiver.url + "/stall", secret_enc=encrypt(WEBHOOK_SECRET)
        )
        ticket, _ = await new_ticket(world.alpha)
        lead = await Assignment.filter(ticket_id=ticket.id, is_lead=True).first()
        async with in_transaction():
            await on_ticket_events(
                [
                    snapshot(
                        ticket,
                        TicketEvent.RECLASSIFIED,
                        key=f"t{ticket.id}.{ticket.timeline_seq}.drain",
                        at=ticket.updated_at,
                        department_id=lead.department_id if lead else None,
                        timeline_event_id=ticket.timeline_seq,
                    )
                ]
            )
    [row] = await _rows(payload__contains={"endpoint_id": hook.id})
    assert await relay_outbox({}) >= 1
    return int(row.id)


async def _start_worker(log: Path, drain_seconds: int) -> asyncio.subprocess.Process:
    env = {**os.environ, "HOTLINE_WORKER_DRAIN_SECONDS": str(drain_seconds)}
    out = log.open("wb")
    try:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hotline.platform", "worker", stdout=out, stderr=out, env=env
        )
    finally:
        out.close()


def _read(log: Path) -> str:
    return log.read_text(errors="replace")


async def _wait_for(log: Path, text: str, process: asyncio.subprocess.Process) -> None:
    deadline = asyncio.get_running_loop().time() + 60
    while text not in _read(log):
        assert process.returncode is None, _read(log)
        assert asyncio.get_running_loop().time() < deadline, _read(log)
        await asyncio.sleep(0.1)


async def test_sigterm_lets_the_running_job_finish(
    world: World, receiver: Receiver, new_ticket: Any, tmp_path: Path
) -> None:
    row_id = await _stalled_message(world, receiver, new_ticket, "drain-finish")
    log = tmp_path / "worker.log"
    worker = await _start_worker(log, drain_seconds=60)
    try:
        assert await asyncio.to_thread(receiver.stalled.wait, 90), _read(log)
        worker.send_signal(signal.SIGTERM)
        await _wait_for(log, "shutdown on SIGTERM", worker)
        receiver.released.set()  # the in-flight delivery answers after the signal
        assert await asyncio.wait_for(worker.wait(), 60) == 0, _read(log)
    finally:
        receiver.released.set()
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
    [row] = await _rows(id=row_id)
    assert row.status is OutboxStatus.SENT
    # delivered once, by the draining worker (a cron sweep of the worker may deliver the
    # city's other events to the same endpoint meanwhile: only this message counts)
    assert len([r for r in receiver.requests if r["key"] == row.send_key]) == 1


async def test_a_job_outlasting_the_drain_is_queued_again(
    world: World, receiver: Receiver, new_ticket: Any, burst: Any, tmp_path: Path
) -> None:
    row_id = await _stalled_message(world, receiver, new_ticket, "drain-requeue")
    log = tmp_path / "worker.log"
    worker = await _start_worker(log, drain_seconds=1)
    try:
        assert await asyncio.to_thread(receiver.stalled.wait, 90), _read(log)
        worker.send_signal(signal.SIGTERM)
        await asyncio.wait_for(worker.wait(), 60)
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
    assert "will be run again" in _read(log), _read(log)
    [held] = await _rows(id=row_id)
    assert held.status is OutboxStatus.PENDING  # not lost, not failed
    receiver.released.set()
    await burst()  # the queued-again job, in a new worker
    [row] = await _rows(id=row_id)
    assert row.status is OutboxStatus.SENT
    # the receiver applied it once (the workers' cron sweeps may deliver the city's other
    # events, e.g. a supervision opened on an overdue ticket, to the same endpoint)
    assert receiver.applications[row.send_key] == 1
