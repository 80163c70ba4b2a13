"""``/healthz`` (the process answers) and ``/readyz`` (PostgreSQL, Redis and S3 answer)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse
from tortoise import connections

from hotline.platform import storage
from hotline.platform.redis import redis_client


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def _postgres() -> bool:
    rows = await connections.get("default").execute_query_dict("SELECT 1 AS ok")
    return bool(rows == [{"ok": 1}])


async def _redis() -> bool:
    return bool(await redis_client().ping())


async def _check(probe: Callable[[], Awaitable[bool]]) -> str:
    try:
        return "ok" if await asyncio.wait_for(probe(), timeout=3) else "failing"
    except Exception as exc:
        return f"failing: {type(exc).__name__}"


async def readyz(request: Request) -> JSONResponse:
    checks = dict(
        zip(
            ("postgres", "redis", "s3"),
            await asyncio.gather(_check(_postgres), _check(_redis), _check(storage.ping)),
            strict=True,
        )
    )
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "failing", "checks": checks},
        status_code=200 if ready else 503,
    )
