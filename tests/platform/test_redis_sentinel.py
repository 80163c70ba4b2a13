"""Redis through Sentinel, across a failover (docs/operations.md "Redis Sentinel").

Three real ``redis-server`` processes of this test's own (a primary, its replica, and a
sentinel started with ``--sentinel``, all on free loopback ports, nothing persisted) and
the app configured with ``HOTLINE_REDIS_SENTINELS`` only — HOTLINE_REDIS_URL names no
server that exists. The app's clients reach the primary: the shared client (caches,
pub/sub), the rate limits, the job queue's enqueue, and arq's own connection for the
worker. Then ``SENTINEL FAILOVER``: the replica becomes the primary, and the same
clients reach it without being rebuilt — the counts and the queue carried over by
replication, new writes landing on the new primary, and a real arq worker running the
jobs enqueued before and after. Bounded waits; about 10 s on an idle machine.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from arq.connections import create_pool
from arq.worker import Worker, func
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from hotline.platform import jobs, ratelimit
from hotline.platform.redis import close_client, close_redis, redis_client
from hotline.platform.redis import key as redis_key
from hotline.platform.settings import get_settings, reset_settings

REDIS = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(REDIS is None, reason="redis-server is not installed")
MASTER = "hotline"
WAIT = 20.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + WAIT
    while True:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"redis on {port} did not start: {log.read_text()}")
        time.sleep(0.05)


@pytest.fixture
def trio(tmp_path: Path) -> Iterator[dict[str, int]]:
    """A primary, its replica and one sentinel watching them: their ports."""
    assert REDIS is not None
    ports = {"primary": _free_port(), "replica": _free_port(), "sentinel": _free_port()}
    common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(tmp_path)]
    (tmp_path / "sentinel.conf").write_text(
        f"port {ports['sentinel']}\nbind 127.0.0.1\ndir {tmp_path}\n"
        f"sentinel monitor {MASTER} 127.0.0.1 {ports['primary']} 1\n"
        f"sentinel down-after-milliseconds {MASTER} 2000\n"
        f"sentinel failover-timeout {MASTER} 10000\n"
    )
    commands = {
        "primary": [REDIS, "--port", str(ports["primary"]), *common],
        "replica": [REDIS, "--port", str(ports["replica"]), *common,
                    "--replicaof", "127.0.0.1", str(ports["primary"])],
        "sentinel": [REDIS, str(tmp_path / "sentinel.conf"), "--sentinel"],
    }  # fmt: skip
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for name, command in commands.items():
            log = tmp_path / f"{name}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
            processes.append(process)
            _wait_port(ports[name], process, log)
        yield ports
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@pytest_asyncio.fixture
async def through_sentinel(trio: dict[str, int]) -> AsyncIterator[dict[str, int]]:
    env = {
        "HOTLINE_REDIS_URL": "redis://redis.invalid:1/0",  # the sentinels name the server
        "HOTLINE_REDIS_SENTINELS": f"127.0.0.1:{trio['sentinel']}",
        "HOTLINE_REDIS_SENTINEL_MASTER": MASTER,
        "HOTLINE_REDIS_PREFIX": f"hltest:sentinel:{os.getpid()}",
        "HOTLINE_REDIS_TIMEOUT_SECONDS": "0.5",
    }
    saved = {k: os.environ.get(k) for k in env}
    await close_redis()
    await jobs.close_pools()
    os.environ.update(env)
    reset_settings()
    try:
        yield trio
    finally:
        await close_redis()
        await jobs.close_pools()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        reset_settings()


async def _direct(port: int, *command: Any) -> Any:
    client = Redis(host="127.0.0.1", port=port, decode_responses=True, socket_timeout=2)
    try:
        return await client.execute_command(*command)  # type: ignore[no-untyped-call]
    finally:
        await client.aclose()


async def _until(check: Any, what: str) -> Any:
    deadline = time.monotonic() + WAIT
    while True:
        try:
            result = await check()
        except (RedisConnectionError, RedisTimeoutError, OSError):
            result = None  # the failover's moment: connections to the old primary drop
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def _role(port: int) -> str:
    info = await _direct(port, "INFO", "replication")
    return str(info["role"])


async def _is(port: int, role: str) -> bool:
    return await _role(port) == role


async def _ping(ctx: dict[str, Any], **kwargs: Any) -> str:
    return "pong"


async def test_the_app_follows_the_primary_through_a_failover(
    through_sentinel: dict[str, int],
) -> None:
    ports = through_sentinel
    primary, replica, sentinel = ports["primary"], ports["replica"], ports["sentinel"]
    settings = get_settings()
    limit_key = "sentinel-test"
    counter = redis_key("ratelimit", limit_key, int(time.time()) // 86400)
    queue = jobs.queue_name(settings)

    async def replica_known() -> bool:
        known = [
            dict(zip(r[::2], r[1::2], strict=True))
            for r in await _direct(sentinel, "SENTINEL", "REPLICAS", MASTER)
        ]
        return any(r["port"] == str(replica) and "s_down" not in r["flags"] for r in known)

    await _until(replica_known, "the sentinel to know the replica")

    # before: everything reaches the primary the sentinel names
    assert await ratelimit.hit(limit_key, limit=100, window_seconds=86400)
    await redis_client().set(redis_key("cache", "before"), "1")
    await jobs.enqueue("ping", tenant_id=None)
    assert await _direct(primary, "GET", counter) == "1"
    assert await _direct(primary, "GET", redis_key("cache", "before")) == "1"
    assert await _direct(primary, "ZCARD", queue) == 1
    arq = await create_pool(jobs.redis_settings())  # the worker's own connection
    try:
        assert int((await arq.info("server"))["tcp_port"]) == primary
    finally:
        await close_client(arq)

    async def synced() -> bool:
        info = await _direct(replica, "INFO", "replication")
        return bool(info.get("master_link_status") == "up")

    await _until(synced, "the replica to be in sync")
    assert await _direct(sentinel, "SENTINEL", "FAILOVER", MASTER)

    async def promoted() -> bool:
        _host, port = await _direct(sentinel, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER)
        return int(port) == replica and await _role(replica) == "master"

    await _until(promoted, "the failover")
    # Until the sentinel has turned the old primary into a replica it still takes writes,
    # which its resync then drops: Redis's asynchronous replication (docs/operations.md).
    # Nothing the app keeps in Redis needs them; the check below starts after it.
    await _until(lambda: _is(primary, "slave"), "the old primary to be demoted")

    # after: the same clients, not rebuilt, reach the new primary
    async def written() -> bool:
        await redis_client().set(redis_key("cache", "after"), "1")
        return True

    await _until(written, "the shared client to reach the new primary")
    assert await _direct(replica, "GET", redis_key("cache", "after")) == "1"
    assert await _direct(replica, "GET", redis_key("cache", "before")) == "1"  # replicated

    async def counted() -> bool:
        await ratelimit.hit(limit_key, limit=100, window_seconds=86400)
        return await _direct(replica, "GET", counter) is not None

    await _until(counted, "the rate limit to count on the new primary")
    assert int(await _direct(replica, "GET", counter)) >= 2  # the count carried over

    async def enqueued() -> bool:
        await jobs.enqueue("ping", tenant_id=None)
        return True

    await _until(enqueued, "an enqueue on the new primary")
    assert await _direct(replica, "ZCARD", queue) >= 2
    arq = await create_pool(jobs.redis_settings())
    try:
        assert int((await arq.info("server"))["tcp_port"]) == replica
    finally:
        await close_client(arq)

    # a real arq worker, connected through the sentinel, runs the jobs of both sides
    worker = Worker(
        functions=[func(_ping, name="ping")],
        redis_settings=jobs.redis_settings(),
        queue_name=queue,
        burst=True,
        poll_delay=0.05,
        handle_signals=False,
    )
    try:
        await asyncio.wait_for(worker.main(), timeout=WAIT)
    finally:
        await close_client(worker.pool)  # (arq's Worker.close calls a deprecated close)
    assert worker.jobs_complete >= 2
    assert worker.jobs_failed == 0
    assert await _direct(replica, "ZCARD", queue) == 0
