"""The client address behind proxies: X-Forwarded-For counts only from trusted peers, so a
forged header cannot dodge the per-client login limit, and a real proxy's clients each
get their own bucket. Real uvicorn servers, real TCP peers (127.0.0.1)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio
import uvicorn
from pydantic import ValidationError

from hotline.platform.settings import Settings, get_settings, reset_settings

LIMIT = 3
LOGIN = """mutation($u: String!) { login(username: $u, password: "wrong-password-1") {
  tokens { accessToken } errors { code } } }"""


@pytest.fixture(scope="module", autouse=True)
def low_login_limit(db: Settings) -> Iterator[None]:
    saved = os.environ.get("HOTLINE_LOGIN_RATE_PER_MINUTE")
    os.environ["HOTLINE_LOGIN_RATE_PER_MINUTE"] = str(LIMIT)
    reset_settings()
    yield
    if saved is None:
        os.environ.pop("HOTLINE_LOGIN_RATE_PER_MINUTE", None)
    else:
        os.environ["HOTLINE_LOGIN_RATE_PER_MINUTE"] = saved
    reset_settings()


async def _serve(trusted: str) -> AsyncIterator[str]:
    from hotline.schema.app import create_app

    settings = get_settings().model_copy(update={"trusted_proxies": trusted})
    config = uvicorn.Config(
        create_app(settings, manage_orm=False),
        host="127.0.0.1",
        port=0,
        lifespan="off",
        log_level="warning",
        proxy_headers=False,  # as `hotline serve`: the app applies the headers itself
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 — uvicorn offers no event to wait on
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def behind_nothing(db: Settings) -> AsyncIterator[str]:
    """A server that trusts no proxy at all (only an address that never connects)."""
    async for url in _serve("10.254.254.254"):
        yield url


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def behind_proxy(db: Settings) -> AsyncIterator[str]:
    """A server whose proxy is this host (loopback, the default)."""
    async for url in _serve("127.0.0.1/32,::1"):
        yield url


async def _login(url: str, username: str, forwarded_for: str | None) -> str:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    async with httpx.AsyncClient(base_url=url) as http:
        response = await http.post(
            "/graphql", json={"query": LOGIN, "variables": {"u": username}}, headers=headers
        )
    body = response.json()
    if body.get("errors"):
        return str(body["errors"][0]["extensions"]["code"])
    return str(body["data"]["login"]["errors"][0]["code"])


async def test_forged_forwarded_for_from_an_untrusted_peer_is_ignored(behind_nothing: str) -> None:
    await _fresh_minute()
    # every attempt claims another client; all count against the real peer, 127.0.0.1
    codes = [
        await _login(behind_nothing, f"nobody-{n}", f"203.0.113.{n}") for n in range(LIMIT + 1)
    ]
    assert codes == ["AUTH_FAILED"] * LIMIT + ["RATE_LIMITED"]


async def _fresh_minute() -> None:
    """The login limit counts per clock minute: start well inside one, so the checks
    below do not straddle two windows."""
    if time.time() % 60 > 45:
        await asyncio.sleep(61 - time.time() % 60)


async def test_a_trusted_proxy_gives_each_client_its_own_bucket(behind_proxy: str) -> None:
    await _fresh_minute()
    first = [await _login(behind_proxy, f"someone-{n}", "198.51.100.7") for n in range(LIMIT + 1)]
    assert first == ["AUTH_FAILED"] * LIMIT + ["RATE_LIMITED"]
    # another citizen behind the same proxy is not held back by the first one
    assert await _login(behind_proxy, "someone-else", "198.51.100.8") == "AUTH_FAILED"
    # a client forging an extra hop: the proxy appends the real address, which counts
    forged = "192.0.2.99, 198.51.100.7"
    assert await _login(behind_proxy, "someone-forging", forged) == "RATE_LIMITED"


def test_trusted_proxies_must_be_addresses() -> None:
    assert Settings(trusted_proxies="10.0.0.0/8, 127.0.0.1,::1").trusted_proxy_list() == [
        "10.0.0.0/8",
        "127.0.0.1",
        "::1",
    ]
    with pytest.raises(ValidationError, match="not an IP address or CIDR"):
        Settings(trusted_proxies="ingress.local")
