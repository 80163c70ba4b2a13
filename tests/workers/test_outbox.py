"""The outbox end to end: written in the change's transaction, relayed to a real arq
worker, delivered to real local receivers exactly once per send key."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from arq.constants import in_progress_key_prefix
from tortoise.transactions import in_transaction

from hotline.platform import outbox
from hotline.platform.crypto import encrypt
from hotline.platform.jobs import pool, queue_name
from hotline.platform.outbox import OutboxMessage, OutboxStatus
from hotline.platform.redis import redis_client
from hotline.platform.senders.config import reset_delivery_settings
from hotline.platform.settings import reset_settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.kernel.events import TicketEvent
from hotline.tenants.notifications.delivery import deliver_batch, deliver_outbox, notice_channel
from hotline.tenants.notifications.models import Notice, NotificationPreference, WebhookEndpoint
from hotline.tenants.notifications.rules import on_ticket_events
from hotline.tenants.tickets.models import Assignment, Ticket
from hotline.tenants.tickets.snapshots import snapshot
from hotline.workers.relay import relay_outbox
from hotline.workers.runner import Worker
from hotline.workers.settings import WorkerSettings

if TYPE_CHECKING:
    from tests.workers.conftest import Mailbox, Receiver, World

pytestmark = pytest.mark.usefixtures("channels")
WEBHOOK_SECRET = "whsec-test-secret"  # the receiver's (tests/workers/conftest.py)


async def on_ticket_event(*, ticket: Ticket, event: str) -> None:
    """What a ticket change tells the notifications handler (its domain event), with the
    lead department as the change would name it."""
    lead = await Assignment.filter(ticket_id=ticket.id, is_lead=True).first()
    kind = TicketEvent(event)
    await on_ticket_events(
        [
            snapshot(
                ticket,
                kind,
                key=f"t{ticket.id}.{ticket.timeline_seq}.{kind.value}",
                at=ticket.updated_at,
                department_id=lead.department_id if lead else None,
                timeline_event_id=ticket.timeline_seq,
            )
        ]
    )


async def _rows(**filters: object) -> list[OutboxMessage]:
    with use_scope(Scope.platform()):
        return await OutboxMessage.filter(**filters).order_by("id")


async def _drain(burst: Any, rounds: int = 10) -> None:
    """Relay and run a burst worker until nothing is due (retries come due quickly)."""
    for _ in range(rounds):
        handed = await relay_outbox({})
        if handed:
            await burst()
        pending = await _rows(status=OutboxStatus.PENDING)
        if not pending:
            return
        await asyncio.sleep(0.05)


async def test_add_is_part_of_the_callers_transaction(
    world: World, new_ticket: Any, new_worker: Any, burst: Any
) -> None:
    with use_scope(world.alpha.scope()):
        with pytest.raises(RuntimeError):  # noqa: PT012 — the transaction is the subject
            async with in_transaction():
                await outbox.add(kind="sms", tenant_id=world.alpha.id, payload={}, send_key="tx-1")
                raise RuntimeError("the change fails")
        async with in_transaction():
            first = await outbox.add(
                kind="sms", tenant_id=world.alpha.id, payload={}, send_key="tx-2"
            )
            again = await outbox.add(
                kind="sms", tenant_id=world.alpha.id, payload={}, send_key="tx-2"
            )
    assert first is not None
    assert again is None
    assert [r.send_key for r in await _rows(send_key__startswith="tx-")] == ["tx-2"]
    with use_scope(Scope.platform()):
        await OutboxMessage.filter(send_key__startswith="tx-").delete()


async def test_ticket_events_deliver_on_every_channel(
    world: World, receiver: Receiver, mailbox: Mailbox, new_ticket: Any, new_worker: Any, burst: Any
) -> None:
    receiver.reset()
    alpha = world.alpha
    with use_scope(alpha.scope()):
        hook = await WebhookEndpoint.create(
            name="crm",
            url=receiver.url + "/ok",
            secret_enc=encrypt(WEBHOOK_SECRET),
            event_types=["ticket.create", "ticket.dispatch"],
        )
        # the handler turned e-mail off for themselves; the manager keeps the default
        await NotificationPreference.create(
            user_id=alpha.users["handler"].id, event="*", channel="email", enabled=False
        )
        ticket, _ = await new_ticket(alpha)
        channel = notice_channel(alpha.id, alpha.users["handler"].id)
        pubsub = redis_client().pubsub()
        await pubsub.subscribe(channel)
        async with in_transaction():
            await on_ticket_event(ticket=ticket, event="create")
            await on_ticket_event(ticket=ticket, event="dispatch")
            # the same event again writes nothing twice
            await on_ticket_event(ticket=ticket, event="dispatch")
    rows = await _rows(tenant_id=alpha.id, status=OutboxStatus.PENDING)
    kinds = sorted(r.kind for r in rows)
    # create: SMS + webhook; dispatch: webhook + in-app x2 + e-mail to the manager only
    assert kinds == ["email", "inapp", "inapp", "sms", "webhook", "webhook"]
    await _drain(burst)
    assert {r.status for r in await _rows(tenant_id=alpha.id)} == {OutboxStatus.SENT}, [
        (r.id, r.kind, r.status, r.attempts, r.sent_at, r.updated_at, r.next_attempt_at)
        for r in await _rows(tenant_id=alpha.id)
    ]

    sms = [r for r in receiver.requests if "segments" in json.loads(r["body"])]
    assert len(sms) == 1
    assert json.loads(sms[0]["body"])["to"] == "13800138000"
    assert ticket.number in json.loads(sms[0]["body"])["text"]
    hooks = [r for r in receiver.requests if "X-Hotline-Signature" in r["headers"]]
    assert sorted(json.loads(r["body"])["type"] for r in hooks) == [
        "ticket.create",
        "ticket.dispatch",
    ]
    assert receiver.bad_signatures == 0
    assert [m["to"] for m in mailbox.messages] == [["manager@alpha.example"]]
    with use_scope(alpha.scope()):
        notices = await Notice.filter(ticket_id=ticket.id).order_by("user_id")
    assert [n.user_id for n in notices] == sorted(
        [alpha.users["handler"].id, alpha.users["manager"].id]
    )
    message = None
    for _ in range(5):  # the first read may be the subscription's confirmation
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
        if message is not None:
            break
    assert message is not None
    assert json.loads(message["data"])["notice_id"] in {n.id for n in notices}
    await pubsub.aclose()  # type: ignore[no-untyped-call]
    with use_scope(alpha.scope()):
        await hook.delete()


async def test_other_citys_endpoints_and_people_are_never_used(
    world: World, new_ticket: Any, new_worker: Any, burst: Any
) -> None:
    with use_scope(world.beta.scope()):
        await WebhookEndpoint.create(
            name="beta-crm", url="http://127.0.0.1:9/", secret_enc=encrypt("x"), event_types=[]
        )
    with use_scope(world.alpha.scope()):
        ticket, _ = await new_ticket(world.alpha)
        async with in_transaction():
            await on_ticket_event(ticket=ticket, event="dispatch")
    rows = await _rows(payload__contains={"ticket_id": ticket.id})
    assert rows
    assert {r.tenant_id for r in rows} == {world.alpha.id}
    assert not [r for r in rows if r.kind == "webhook"]
    beta_users = {u.id for u in world.beta.users.values()}
    assert not {r.payload.get("user_id") for r in rows} & beta_users
    with use_scope(Scope.platform()):
        await OutboxMessage.filter(id__in=[r.id for r in rows]).delete()


async def test_a_receiver_failing_three_times_applies_the_message_once(
    world: World, receiver: Receiver, new_ticket: Any, new_worker: Any, burst: Any
) -> None:
    receiver.reset()
    with use_scope(world.alpha.scope()):
        # keep the endpoint while delivering
        hook = await WebhookEndpoint.create(
            name="flaky", url=receiver.url + "/flaky/3", secret_enc=encrypt(WEBHOOK_SECRET)
        )
        ticket, _ = await new_ticket(world.alpha)
        async with in_transaction():
            await on_ticket_event(ticket=ticket, event="reclassify")
    [row] = await _rows(payload__contains={"endpoint_id": hook.id})
    await _drain(burst)
    [row] = await _rows(id=row.id)
    assert row.status is OutboxStatus.SENT
    assert row.attempts == 4
    assert len([r for r in receiver.requests if r["key"] == row.send_key]) == 4
    assert receiver.applications == {row.send_key: 1}
    with use_scope(world.alpha.scope()):
        await hook.delete()


async def test_an_always_failing_receiver_ends_in_the_dead_letters(
    world: World, receiver: Receiver, new_ticket: Any, new_worker: Any, burst: Any
) -> None:
    receiver.reset()
    with use_scope(world.alpha.scope()):
        hook = await WebhookEndpoint.create(
            name="down", url=receiver.url + "/down", secret_enc=encrypt(WEBHOOK_SECRET)
        )
        ticket, _ = await new_ticket(world.alpha)
        async with in_transaction():
            await on_ticket_event(ticket=ticket, event="reclassify")
    [row] = await _rows(payload__contains={"endpoint_id": hook.id})
    await _drain(burst)
    [row] = await _rows(id=row.id)
    assert row.status is OutboxStatus.DEAD
    assert row.attempts == 4
    assert "HTTP 503" in row.last_error
    assert row.id in [m.id for m in await outbox.dead_letters(tenant_id=world.alpha.id, limit=10)]
    assert not await outbox.dead_letters(tenant_id=world.beta.id, limit=10)
    # an admin fixes the endpoint and retries the dead letter
    assert await outbox.retry_dead(tenant_id=world.beta.id, outbox_id=row.id) is None
    with use_scope(world.alpha.scope()):
        hook.url = receiver.url + "/ok"
        await hook.save()
    retried = await outbox.retry_dead(tenant_id=world.alpha.id, outbox_id=row.id)
    assert retried is not None
    assert retried.status is OutboxStatus.PENDING
    await _drain(burst)
    [row] = await _rows(id=row.id)
    assert row.status is OutboxStatus.SENT
    assert receiver.applications == {row.send_key: 1}
    with use_scope(world.alpha.scope()):
        await hook.delete()


async def test_a_worker_killed_mid_delivery_applies_the_message_once(
    world: World, receiver: Receiver, new_ticket: Any, new_worker: Any, burst: Any
) -> None:
    receiver.reset()
    with use_scope(world.alpha.scope()):
        hook = await WebhookEndpoint.create(
            name="stall", url=receiver.url + "/stall", secret_enc=encrypt(WEBHOOK_SECRET)
        )
        ticket, _ = await new_ticket(world.alpha)
        async with in_transaction():
            await on_ticket_event(ticket=ticket, event="reclassify")
    [row] = await _rows(payload__contains={"endpoint_id": hook.id})
    assert await relay_outbox({}) == 1
    first = await new_worker(max_jobs=1)  # it must not take the re-queued job again
    running = asyncio.create_task(first.async_run())
    # the receiver has applied the message; the worker waits for the answer — and dies
    assert await asyncio.to_thread(receiver.received.wait, 5)
    first.handle_sig(signal.SIGTERM)  # what arq does on SIGTERM: cancel the jobs, stop
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(running, 5)
    receiver.released.set()
    [row] = await _rows(id=row.id)
    assert row.status is OutboxStatus.PENDING
    assert row.attempts == 0
    # a new worker runs the job again: the receiver sees the key twice, applies it once
    await burst()
    [row] = await _rows(id=row.id)
    assert row.status is OutboxStatus.SENT
    assert len([r for r in receiver.requests if r["key"] == row.send_key]) == 2
    assert receiver.applications == {row.send_key: 1}
    with use_scope(world.alpha.scope()):
        await hook.delete()


async def test_citizen_sms_waits_for_the_morning(
    world: World, new_ticket: Any, new_worker: Any, burst: Any
) -> None:
    rows = []
    for _ in range(3):
        with use_scope(world.alpha.scope()):
            ticket, _ = await new_ticket(world.alpha)
            async with in_transaction():
                await on_ticket_event(ticket=ticket, event="create")
        rows += await _rows(payload__contains={"ticket_id": ticket.id}, kind="sms")
    night = datetime(2026, 3, 2, 23, 30, tzinfo=UTC) - timedelta(hours=8)  # 23:30 Shanghai
    os.environ["HOTLINE_SMS_QUIET_START"] = "21:30"
    os.environ["HOTLINE_SMS_QUIET_END"] = "08:00"
    reset_delivery_settings()
    try:
        with use_scope(world.alpha.scope()):
            assert await deliver_outbox(outbox_id=rows[0].id, now=night) == "deferred"
            # a batch's night SMS are held back together
            held = await deliver_batch(outbox_ids=[r.id for r in rows[1:]], now=night)
            assert held == {"settled": 0, "deferred": 2}
    finally:
        os.environ["HOTLINE_SMS_QUIET_START"] = "00:00"
        os.environ["HOTLINE_SMS_QUIET_END"] = "00:00"
        reset_delivery_settings()
    for row in rows:
        [row] = await _rows(id=row.id)
        assert row.status is OutboxStatus.PENDING
        assert row.attempts == 0
        assert row.next_attempt_at == datetime(2026, 3, 3, 0, 0, tzinfo=UTC)  # 08:00 Shanghai


async def test_a_message_whose_worker_vanished_is_delivered_after_the_short_lease(
    world: World,
    receiver: Receiver,
    new_ticket: Any,
    burst: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> None:
    """A real worker process takes the message and is SIGKILLed mid-delivery: nothing
    renews its lease, so the message is due again after one lease (here 1 s) and a new
    worker delivers it — not after arq's or a 5-minute lease's timeout."""
    await _drain(burst)  # earlier tests' messages: the receiver must see ours first
    monkeypatch.setenv("HOTLINE_OUTBOX_LEASE_SECONDS", "1")
    reset_settings()
    receiver.reset()
    with use_scope(world.alpha.scope()):
        hook = await WebhookEndpoint.create(
            name="vanish", url=receiver.url + "/stall", secret_enc=encrypt(WEBHOOK_SECRET)
        )
        ticket, _ = await new_ticket(world.alpha)
        async with in_transaction():
            await on_ticket_event(ticket=ticket, event="reclassify")
    [row] = await _rows(payload__contains={"endpoint_id": hook.id})
    assert await relay_outbox({}) == 1
    [claimed] = await _rows(id=row.id)
    assert claimed.next_attempt_at is not None
    assert claimed.next_attempt_at <= datetime.now(UTC) + timedelta(seconds=2)  # a short lease
    log = (tmp_path / "worker.log").open("wb")
    doomed = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hotline.platform", "worker", stdout=log, stderr=log
    )
    try:
        # the receiver has the message; the worker waits for the answer — and vanishes
        assert await asyncio.to_thread(receiver.received.wait, 90)
    finally:
        doomed.kill()
        await doomed.wait()
        log.close()
        receiver.released.set()
    [held] = await _rows(id=row.id)
    assert held.status is OutboxStatus.PENDING
    assert held.attempts == 0
    worker = Worker(
        functions=WorkerSettings.functions,
        queue_name=queue_name(),
        redis_pool=await pool(),
        handle_signals=False,
        poll_delay=0.05,
        keep_result=60,
    )
    running = asyncio.create_task(worker.async_run())
    deadline = asyncio.get_running_loop().time() + 30  # the old lease alone was 300 s
    try:
        while held.status is OutboxStatus.PENDING:
            assert asyncio.get_running_loop().time() < deadline, (
                tmp_path / "worker.log"
            ).read_text()
            await relay_outbox({})
            await asyncio.sleep(0.2)
            [held] = await _rows(id=row.id)
    finally:
        worker.handle_sig(signal.SIGTERM)
        # stopping the worker is cleanup, not what is tested: on a loaded machine its
        # shutdown can outlast the wait, and wait_for then cancels it (TimeoutError)
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(running, 30)
        # the dead worker's job stays "in progress" in arq until its timeout: drop it
        redis = redis_client()
        for job_id in await redis.zrange(queue_name(), 0, -1):
            if await redis.exists(in_progress_key_prefix + job_id):
                await redis.zrem(queue_name(), job_id)
                await redis.delete(in_progress_key_prefix + job_id)
        reset_settings()
    assert held.status is OutboxStatus.SENT
    assert len([r for r in receiver.requests if r["key"] == row.send_key]) == 2
    assert receiver.applications == {row.send_key: 1}
    with use_scope(world.alpha.scope()):
        await hook.delete()
