"""arq ``WorkerSettings``, run by ``hotline worker``."""

from __future__ import annotations

from typing import Any, ClassVar

from arq import cron
from arq.connections import RedisSettings
from tortoise import Tortoise

from hotline.platform.db.config import init_orm
from hotline.platform.jobs import queue_name, redis_settings
from hotline.platform.logging import configure_logging
from hotline.platform.redis import close_redis
from hotline.platform.settings import get_settings
from hotline.workers import tasks


async def startup(ctx: dict[str, Any]) -> None:
    configure_logging()
    await init_orm(get_settings())


async def shutdown(ctx: dict[str, Any]) -> None:
    await close_redis()
    await Tortoise.close_connections()


class WorkerSettings:
    functions: ClassVar[list[Any]] = [tasks.ping]
    cron_jobs: ClassVar[list[Any]] = [
        cron(tasks.purge_expired_sessions, hour={3}, minute={17}, run_at_startup=False),
    ]
    on_startup = startup
    on_shutdown = shutdown
    queue_name: ClassVar[str] = queue_name()
    redis_settings: ClassVar[RedisSettings] = redis_settings()
    max_tries = 5
    keep_result = 3600
