"""A real browser on the GraphiQL page: headless Chromium (Debian's ``chromium``) opens
GraphiQL from a running server, logs in as a demo user with the page's login bar, runs
the README's first queries and sees their results, while the test records every request
the page makes and asserts that none left 127.0.0.1. A screenshot is kept under
``.hotline/test-artifacts/`` (or ``$HOTLINE_TEST_ARTIFACTS``).

Skipped only when chromium is absent and ``CI`` is not set (``.ci/run`` installs it).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import uvicorn
from websockets.asyncio.client import ClientConnection, connect

from hotline.platform.redis import close_redis
from hotline.platform.settings import Settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.schema.app import create_app
from hotline.tenants.accounts import users
from hotline.tenants.seed.data import DEMO_PASSWORD, PLATFORM_OPERATOR

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

if CHROMIUM is None and not os.environ.get("CI"):
    pytest.skip(
        "chromium is not installed (apt-get install chromium; CI installs it)",
        allow_module_level=True,
    )

PROVINCES = "{ provinces { id code name tenants { id code slug name } } }"
PAUSE = "new Promise(done => setTimeout(() => done(true), 1000))"
WAIT = 60.0  # seconds a page step may take on a loaded machine (a bound, not a measure)


class DevTools:
    """The Chrome DevTools protocol over the page's WebSocket: calls, and every event."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.last_id = 0
        self.events: list[dict[str, Any]] = []

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.last_id += 1
        call_id = self.last_id
        await self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(await asyncio.wait_for(self.ws.recv(), timeout=WAIT))
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self.events.append(message)

    async def evaluate(self, expression: str) -> Any:
        result = await self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for_event(self, match: Callable[[dict[str, Any]], bool], what: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        while not any(match(e) for e in self.events):
            if loop.time() > deadline:
                raise AssertionError(f"the browser never saw {what}")
            await self.evaluate("0")  # events arrive while we wait for an answer
            await asyncio.sleep(0.2)

    async def wait_for(self, expression: str, what: str) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        while loop.time() < deadline:
            value = await self.evaluate(expression)
            if value:
                return value
            await asyncio.sleep(0.2)
        raise AssertionError(f"the page never showed {what}")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def server(db: Settings) -> AsyncIterator[str]:
    with use_scope(Scope.platform()):
        await users.create_user(
            actor=None,
            username=PLATFORM_OPERATOR[0],
            display_name=PLATFORM_OPERATOR[1],
            password=DEMO_PASSWORD,
            platform_operator=True,
        )
    config = uvicorn.Config(
        create_app(db, manage_orm=False),
        host="127.0.0.1",
        port=0,
        lifespan="off",
        log_level="warning",
        server_header=False,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 — uvicorn offers no event to wait on
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    # a province for the tour's second query, made as the README does
    async with httpx.AsyncClient(base_url=base) as http:
        login = await http.post(
            "/graphql",
            json={
                "query": "mutation($u: String!, $p: String!) { login(username: $u, "
                "password: $p) { tokens { accessToken } } }",
                "variables": {"u": PLATFORM_OPERATOR[0], "p": DEMO_PASSWORD},
            },
        )
        token = login.json()["data"]["login"]["tokens"]["accessToken"]
        created = await http.post(
            "/graphql",
            json={
                "query": 'mutation { createProvince(input: { code: "370000", slug: "shandong",'
                ' name: "山东省" }) { province { id } errors { code } } }'
            },
            headers={"Authorization": f"Bearer {token}"},
        )
        assert created.json()["data"]["createProvince"]["errors"] == []
    yield base
    server.should_exit = True
    await task
    await close_redis()


@pytest_asyncio.fixture(loop_scope="session")
async def browser() -> AsyncIterator[DevTools]:
    assert CHROMIUM is not None, "CI is set but chromium is missing"
    profile = tempfile.mkdtemp(prefix="hotline-chromium-")
    process = await asyncio.create_subprocess_exec(
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        # nothing but 127.0.0.1 resolves: a request elsewhere could not leave anyway
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
        f"--user-data-dir={profile}",
        "--window-size=1400,900",
        "about:blank",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        port_file = Path(profile) / "DevToolsActivePort"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        while not port_file.exists() or not port_file.read_text().strip():
            assert loop.time() < deadline, "chromium did not start its DevTools endpoint"
            await asyncio.sleep(0.1)
        port = port_file.read_text().split()[0]
        async with httpx.AsyncClient() as http:
            targets = (await http.get(f"http://127.0.0.1:{port}/json/list")).json()
        page = next(t for t in targets if t["type"] == "page")
        async with connect(page["webSocketDebuggerUrl"], max_size=None) as ws:
            yield DevTools(ws)
    finally:
        process.terminate()
        await process.wait()
        shutil.rmtree(profile, ignore_errors=True)


def _artifacts() -> Path:
    folder = Path(os.environ.get("HOTLINE_TEST_ARTIFACTS") or ROOT / ".hotline" / "test-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def test_graphiql_in_a_browser_stays_on_this_machine(server: str, browser: DevTools) -> None:
    await browser.call("Network.enable")
    await browser.call("Page.enable")
    await browser.call("Runtime.enable")
    await browser.call("Page.navigate", url=f"{server}/graphql")
    # GraphiQL rendered (its scripts ran under the CSP) with the demo login bar
    await browser.wait_for(
        "!!document.querySelector('.graphiql-query-editor .CodeMirror') && "
        "!!document.querySelector('#hotline-login')",
        "GraphiQL and the login bar",
    )
    assert await browser.evaluate("document.querySelector('#hotline-user').value") == "operator"
    # the explorer plugin (vendored too) opens and lists the schema's root fields
    await browser.evaluate(
        "document.querySelector('[aria-label=\"Show GraphiQL Explorer\"]').click()"
    )
    explorer = await browser.wait_for(
        "(e => e ? e.textContent : '')(document.querySelector('.graphiql-explorer-root'))",
        "the explorer",
    )
    assert "provinces" in explorer
    # 1. log in (the README's first step), by the page's button
    await browser.evaluate("document.querySelector('#hotline-login').click()")
    status = await browser.wait_for(
        "(t => t.startsWith('logged in') ? t : '')"
        "(document.querySelector('#hotline-status').textContent)",
        "the login status",
    )
    assert status.startswith("logged in as operator")
    headers = json.loads(await browser.evaluate("localStorage.getItem('hotline:headers')"))
    assert headers["Authorization"].startswith("Bearer ")
    # 2. the province's cities (the README's second step), run from the editor
    await browser.evaluate(
        "document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror"
        f".setValue({json.dumps(PROVINCES)})"
    )
    await browser.evaluate(PAUSE)  # GraphiQL parses the edited document after a debounce
    await browser.evaluate("document.querySelector('.graphiql-execute-button').click()")
    shown = await browser.wait_for(
        "(t => t.includes('370000') ? t : '')"
        "(document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue())",
        "the query's result",
    )
    result = json.loads(shown)
    assert result["data"]["provinces"][0]["code"] == "370000"
    assert result["data"]["provinces"][0]["name"] == "山东省"
    shot = await browser.call("Page.captureScreenshot", format="png")
    path = _artifacts() / "graphiql.png"
    path.write_bytes(base64.b64decode(shot["data"]))
    assert path.stat().st_size > 10_000
    # a subscription opens a WebSocket to the same server with the headers as payload
    await browser.evaluate(
        "document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror"
        ".setValue('subscription { noticeReceived { id } }')"
    )
    await browser.evaluate(PAUSE)  # GraphiQL parses the edited document after a debounce
    await browser.evaluate("document.querySelector('.graphiql-execute-button').click()")
    await browser.wait_for_event(
        lambda e: (
            e.get("method") == "Network.webSocketFrameReceived"
            and "connection_ack" in e["params"]["response"]["payloadData"]
        ),
        "the server's connection_ack",
    )

    requested = [
        e["params"]["request"]["url"]
        for e in browser.events
        if e.get("method") == "Network.requestWillBeSent"
    ]
    sockets = [
        e["params"]["url"] for e in browser.events if e.get("method") == "Network.webSocketCreated"
    ]
    frames = [
        json.loads(e["params"]["response"]["payloadData"])
        for e in browser.events
        if e.get("method") == "Network.webSocketFrameReceived"
    ]
    local = (server + "/", server.replace("http://", "ws://") + "/", "data:")
    assert len(requested) >= 8  # the page, its scripts and styles, the queries
    assert [u for u in requested + sockets if not u.startswith(local)] == []
    assert sockets == [server.replace("http://", "ws://") + "/graphql"]
    assert {"type": "connection_ack"} in [{"type": f["type"]} for f in frames]
    failed = [e for e in browser.events if e.get("method") == "Network.loadingFailed"]
    assert failed == [], failed
