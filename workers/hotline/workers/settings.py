"""arq ``WorkerSettings``, run by ``hotline worker``."""

from __future__ import annotations

from typing import Any, ClassVar

from arq import cron
from arq.connections import RedisSettings
from arq.worker import func
from tortoise import Tortoise

from hotline.platform.db.config import init_orm
from hotline.platform.jobs import queue_name, redis_settings
from hotline.platform.logging import configure_logging
from hotline.platform.observability import tracing
from hotline.platform.redis import close_redis
from hotline.platform.senders.http import close_http_clients
from hotline.platform.settings import get_settings
from hotline.tenants import warmup
from hotline.workers import (
    business,
    calendar,
    delivery,
    evidence,
    exports,
    mail,
    relay,
    requeue,
    routing,
    statistics,
    sweeps,
    tasks,
)
from hotline.workers.metrics import serve_metrics


async def startup(ctx: dict[str, Any]) -> None:
    get_settings().require_production_ready()
    configure_logging()
    # After a lost Redis the worker starts again in this process (hotline.workers.cli),
    # and arq may not have run ``shutdown``: drop what the last run left first.
    await close_redis()
    await Tortoise.close_connections()
    settings = get_settings()
    tracing.configure("hotline-worker")
    serve_metrics(settings.worker_metrics_port)
    await init_orm(settings)
    if not ctx.get("bulk"):  # the bulk worker neither relays nor routes
        listener = relay.OutboxListener(settings)
        await listener.start()
        ctx["outbox_listener"] = listener
    # jieba, the city dictionaries and the routing models, in background (docs/routing.md)
    ctx["warmup"] = warmup.start(routing=not ctx.get("bulk"))


async def shutdown(ctx: dict[str, Any]) -> None:
    if "warmup" in ctx:
        ctx["warmup"].cancel()
    listener: relay.OutboxListener | None = ctx.pop("outbox_listener", None)
    if listener is not None:
        await listener.stop()
    await close_http_clients()
    await close_redis()
    await Tortoise.close_connections()
    tracing.flush()  # what the batch processor still holds


class WorkerSettings:
    functions: ClassVar[list[Any]] = [
        tasks.ping,
        evidence.verify_evidence,
        evidence.process_evidence,
        delivery.deliver_message,
        delivery.deliver_batch,
        sweeps.sweep_tenant,
        routing.train_routing,
        routing.route_ticket,
        calendar.recompute_provisional_deadlines,
        statistics.refresh_statistics,
        business.import_enterprises,
        business.notify_policy,
        func(exports.run_export, name="run_export", timeout=exports.TIMEOUT_SECONDS),
        mail.poll_mail,
        requeue.requeue_stale,
    ]
    cron_jobs: ClassVar[list[Any]] = [
        cron(tasks.purge_expired_sessions, hour={3}, minute={17}, run_at_startup=False),
        # months ahead: a missed night (or ten) still finds next month's partition there
        cron(tasks.maintain_partitions, hour={2}, minute={23}, unique=True, run_at_startup=False),
        # delivered outbox rows leave the hot table for the monthly archive
        cron(tasks.archive_outbox, minute=set(range(4, 60, 10)), unique=True, run_at_startup=False),
        cron(evidence.sweep_unfinalized, minute={7}, run_at_startup=False),
        cron(evidence.apply_retention, hour={3}, minute={41}, run_at_startup=False),
        cron(relay.relay_outbox, second=set(range(0, 60, 2)), unique=True, run_at_startup=True),
        cron(sweeps.sweep_all, second={5}, unique=True),
        cron(statistics.refresh_statistics_all, second={35}, unique=True),
        cron(mail.poll_mail_all, second={50}, unique=True),
        cron(requeue.requeue_stale_all, second={20}, unique=True),
    ]
    on_startup = startup
    on_shutdown = shutdown
    queue_name: ClassVar[str] = queue_name()
    redis_settings: ClassVar[RedisSettings] = redis_settings()
    max_tries = get_settings().job_max_tries
    # How often an idle worker looks for jobs (arq's default: 0.5 s). A job enqueued on an
    # outbox notification (a new ticket's routing) starts within this.
    poll_delay = 0.05
    keep_result = 3600
    # SIGTERM: take no more jobs, let running ones finish for this long, then cancel them
    # (arq queues a cancelled job again: nothing is lost; docs/operations.md).
    job_completion_wait = get_settings().worker_drain_seconds


async def bulk_startup(ctx: dict[str, Any]) -> None:
    ctx["bulk"] = True
    await startup(ctx)


class BulkWorkerSettings(WorkerSettings):
    """``hotline worker --queue bulk``: the bulk queue only (HOTLINE_BULK_QUEUE), no crons
    (the default worker's crons fan bulk work out to this queue), no outbox listener."""

    cron_jobs: ClassVar[list[Any]] = []
    on_startup = bulk_startup
    queue_name: ClassVar[str] = queue_name(bulk=True)
