"""Faults on real processes: ``hotline run --no-seed`` supervising a real API and worker
over a PostgreSQL, a Redis and an S3 server of this module's own (the platform devstack
in a temporary home — never the machine's shared servers).

Each test breaks one thing while work is in flight and checks three promises
(docs/operations.md "Fault tests"):

- requests fail **cleanly and fast**: HTTP 503 with code ``UNAVAILABLE`` (or a refused
  connection while the API is dead), never a hang or "Unexpected error";
- the system **heals** by itself: ``hotline run`` restarts a killed child, the API and
  the worker reconnect to a restarted PostgreSQL or Redis;
- **nothing is lost or doubled**: every work order a client saw acknowledged exists
  once (clients retry with their idempotency key), every outbox message exists once and
  is delivered (the worker's routing result, unique per ticket, is there once).

The waits are bounded (a hang fails the test) but nothing is timed.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from hotline.platform.devstack.stack import EmbeddedStack

pytestmark = pytest.mark.faults

ROOT = Path(__file__).resolve().parents[2]
STARTUP = 300.0  # two shared CPUs: start three servers, migrate, start API and worker
HEAL = 90.0  # a restart with backoff, or a reconnect
PASSWORD = "Correct-Horse-42"
REQUEST_TIMEOUT = 20.0  # a request hanging this long fails the test

SETUP = """
import asyncio, json
from datetime import timedelta
from tortoise import Tortoise
from hotline.platform.db.config import init_orm
from hotline.platform.settings import get_settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.accounts import memberships, users
from hotline.tenants.accounts.sessions import issue_token_for
from hotline.tenants.cli import SYSTEM
from hotline.tenants.kernel.access import Actor
from hotline.tenants.kernel.roles import Role
from hotline.tenants.provinces.service import create_province, create_tenant

async def main():
    await init_orm(get_settings())
    with use_scope(Scope.platform()):
        province = await create_province(actor=SYSTEM, code="370000", slug="shandong",
                                         name="山东省")
        city = await create_tenant(actor=SYSTEM, province_id=province.id, code="370100",
                                   slug="alpha", name="Alpha", number_prefix="AL")
    admin = Actor(user_id=None, tenant_id=city.id, province_id=province.id,
                  province_admin_of=frozenset({province.id}))
    tokens = {}
    for name, role in (("agent", Role.AGENT), ("admin", Role.TENANT_ADMIN)):
        with use_scope(Scope.platform()):
            user = await users.create_user(actor=None, username=name, display_name=name,
                                           password=PASSWORD_HERE)
        with use_scope(Scope.city(city.id, province.id)):
            await memberships.grant_membership(actor=admin, user_id=user.id, role=role)
        with use_scope(Scope.platform()):
            tokens[name] = await issue_token_for(username=user.username,
                                                 ttl=timedelta(hours=2))
    await Tortoise.close_connections()
    print(json.dumps(tokens))

asyncio.run(main())
""".replace("PASSWORD_HERE", repr(PASSWORD))

CREATE = """mutation($k: String!) { createTicket(input: {channel: PHONE, kind: HELP,
  content: "楼道灯坏了", idempotencyKey: $k}) { ticket { id number } created errors { code } } }"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class System:
    stack: EmbeddedStack
    runner: subprocess.Popen[bytes]
    home: Path
    base: str
    env: dict[str, str]
    tokens: dict[str, str]

    def console(self) -> str:
        return (self.home / "console.txt").read_text("utf-8", "replace")

    def child(self, command: str) -> int | None:
        """The pid of the runner's ``hotline.platform <command>`` child, if one runs."""
        pid = self.runner.pid
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            try:
                argv = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            except FileNotFoundError:
                continue
            if b"hotline.platform" in argv and command.encode() in argv:
                return int(child)
        return None

    def wait_for(self, what: str, check: Callable[[], object], limit: float = HEAL) -> None:
        deadline = time.monotonic() + limit
        while not check():
            assert self.runner.poll() is None, f"hotline run exited:\n{self.console()}"
            assert time.monotonic() < deadline, f"{what} did not happen:\n{self.console()}"
            time.sleep(0.2)

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.base + "/readyz", timeout=5) as r:  # noqa: S310
                return bool(r.status == 200)
        except OSError:
            return False

    def gql(self, query: str, variables: dict[str, Any] | None = None, who: str = "agent") -> Any:
        """One request: (status, body); raises httpx's error when nothing answers."""
        headers = {"Authorization": f"Bearer {self.tokens[who]}", "X-Hotline-Tenant": "alpha"}
        response = httpx.post(
            self.base + "/graphql",
            json={"query": query, "variables": variables or {}},
            headers=headers,
            timeout=REQUEST_TIMEOUT,
        )
        return response.status_code, response.json()

    def sql(self, query: str) -> list[dict[str, Any]]:
        async def run() -> list[dict[str, Any]]:
            conn = await asyncpg.connect(self.env["HOTLINE_DATABASE_URL"])
            try:
                return [dict(r) for r in await conn.fetch(query)]
            finally:
                await conn.close()

        return asyncio.run(run())


@pytest.fixture(scope="module")
def system() -> Iterator[System]:
    if not sys.platform.startswith("linux"):
        pytest.skip("reads the process tree from /proc")
    # Not under pytest's tmp root (0700): as root, the embedded PostgreSQL runs as
    # another user who must reach its data directory.
    home = Path(tempfile.mkdtemp(prefix="hotline-faults-"))
    stack = EmbeddedStack(
        home=home, need_postgres=True, need_redis=True, need_s3=True, persist_s3=False
    )
    stack.start()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env.update(stack.env())
    env.update(
        {
            "HOTLINE_HOME": str(home / "app"),  # the runner's (it starts no server here)
            "HOTLINE_PORT": str(port),
            "HOTLINE_REDIS_TIMEOUT_SECONDS": "0.5",
            "HOTLINE_OUTBOX_LEASE_SECONDS": "3",
            "HOTLINE_JOB_RETRY_BASE_SECONDS": "0.5",
            "HOTLINE_JOB_RETRY_MAX_SECONDS": "2",
        }
    )
    console = (home / "console.txt").open("wb")
    runner = subprocess.Popen(
        [str(ROOT / ".venv/bin/hotline"), "run", "--no-seed"],
        cwd=home,
        env=env,
        stdout=console,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    system = System(stack, runner, home, f"http://127.0.0.1:{port}", env, {})
    try:
        system.wait_for("start-up", lambda: "Hotline is running" in system.console(), STARTUP)
        made = subprocess.run(
            [sys.executable, "-c", SETUP], env=env, capture_output=True, check=True, cwd=home
        )
        system.tokens = json.loads(made.stdout.decode().strip().splitlines()[-1])
        yield system
    finally:
        if runner.poll() is None:
            runner.send_signal(signal.SIGINT)
            try:
                runner.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(runner.pid, signal.SIGKILL)
                runner.wait()
        console.close()
        stack.stop()
        shutil.rmtree(home, ignore_errors=True)


def _create_until_acknowledged(system: System, key: str) -> dict[str, Any]:
    """What a careful client does: retry with the same key until the API acknowledges."""
    deadline = time.monotonic() + HEAL
    while True:
        try:
            status, body = system.gql(CREATE, {"k": key})
            if status == 200 and body["data"]["createTicket"]["errors"] == []:
                return dict(body["data"]["createTicket"]["ticket"])
            assert status == 503, (status, body)  # the only failure allowed: "unavailable"
        except httpx.TransportError:
            pass  # the API is down (killed, restarting): try again
        assert time.monotonic() < deadline, f"{key} never acknowledged:\n{system.console()}"
        time.sleep(0.2)


def _exactly_once(system: System, keys: list[str], acknowledged: dict[str, str]) -> None:
    """Each key's ticket once, the one acknowledged; its route message once, delivered."""
    rows = system.sql(
        "SELECT idempotency_key, id, number FROM tickets WHERE idempotency_key IS NOT NULL"
    )
    by_key: dict[str, list[str]] = {}
    for row in rows:
        by_key.setdefault(row["idempotency_key"], []).append(row["number"])
    for key in keys:
        assert by_key.get(key) == [acknowledged[key]], (key, by_key.get(key))

    def delivered() -> bool:
        pending = system.sql("SELECT count(*) AS n FROM outbox WHERE status <> 'sent'")
        return bool(pending[0]["n"] == 0)

    system.wait_for("every outbox message delivered", delivered)
    routes = system.sql(
        "SELECT send_key, count(*) AS n FROM outbox WHERE kind = 'route' GROUP BY send_key"
    )
    assert all(r["n"] == 1 for r in routes)
    tickets = system.sql("SELECT count(*) AS n FROM tickets")[0]["n"]
    assert len(routes) == tickets
    scored = system.sql("SELECT count(DISTINCT ticket_id) AS n FROM routing_suggestions")
    assert scored[0]["n"] == tickets


def _acknowledge_all(
    system: System, keys: list[str], during: Callable[[], None], after: int
) -> dict[str, str]:
    """Create a ticket per key from 4 clients; ``during()`` runs once ``after`` are in."""
    acknowledged: dict[str, str] = {}

    def one(key: str) -> None:
        acknowledged[key] = _create_until_acknowledged(system, key)["number"]

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(one, key) for key in keys]
        system.wait_for("the first acknowledgements", lambda: len(acknowledged) >= after)
        during()
        for future in futures:
            future.result()
    return acknowledged


def test_a_killed_api_loses_and_doubles_no_acknowledged_work_order(system: System) -> None:
    keys = [f"api-kill-{n}" for n in range(24)]
    killed: list[int] = []

    def kill_the_api() -> None:
        pid = system.child("serve")
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    acknowledged = _acknowledge_all(system, keys, kill_the_api, after=4)
    assert "The API was killed by SIGKILL" in system.console()
    assert system.child("serve") not in (None, *killed)
    _exactly_once(system, keys, acknowledged)


def test_a_killed_worker_resumes_and_delivers_every_message_once(system: System) -> None:
    keys = [f"worker-kill-{n}" for n in range(24)]
    killed: list[int] = []

    def kill_the_worker() -> None:
        pid = system.child("worker")
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    acknowledged = _acknowledge_all(system, keys, kill_the_worker, after=6)
    # nothing the clients do waits for the worker: the supervisor may report it later
    system.wait_for(
        "the supervisor's report", lambda: "The worker was killed by SIGKILL" in system.console()
    )
    system.wait_for("the worker's restart", lambda: system.child("worker") not in (None, *killed))
    _exactly_once(system, keys, acknowledged)


def _unavailable(status: int, body: Any) -> None:
    assert status == 503, (status, body)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAVAILABLE"], body
    assert "Unexpected error" not in json.dumps(body)


def test_postgresql_restarts_requests_fail_fast_then_heal(system: System) -> None:
    assert system.stack.postgres is not None
    system.stack.postgres.stop()
    try:
        _unavailable(*system.gql("{ tickets(first: 5) { nodes { id } } }"))
        _unavailable(*system.gql(CREATE, {"k": "pg-down"}))
        assert not system.ready()
    finally:
        system.stack.postgres.start()
    system.wait_for("readiness after the restart", system.ready)
    created = _create_until_acknowledged(system, "pg-back")
    _exactly_once(system, ["pg-back"], {"pg-back": created["number"]})


def test_redis_restarts_what_needs_it_is_503_then_the_worker_resumes(system: System) -> None:
    assert system.stack.redis is not None
    retrain = "mutation { retrainRoutingModel { queued errors { code } } }"
    system.stack.redis.stop()
    try:
        _unavailable(*system.gql(retrain, who="admin"))
        # work orders need only PostgreSQL: taken while Redis is away, routed once it is back
        created = _create_until_acknowledged(system, "redis-down")
        assert not system.ready()
    finally:
        system.stack.redis.start()
    system.wait_for("readiness after the restart", system.ready)
    _exactly_once(system, ["redis-down"], {"redis-down": created["number"]})


def test_a_stopped_object_store_answers_503_fast(system: System) -> None:
    ticket = _create_until_acknowledged(system, "s3-down")
    upload = """mutation($t: ID!) { requestEvidenceUpload(input: {ticketId: $t,
      fileName: "a.jpg", contentType: "image/jpeg", size: 3, sha256: "SHA"}) {
      evidence { id } errors { code } } }""".replace("SHA", "0" * 64)
    status, body = system.gql(upload, {"t": ticket["id"]})
    assert status == 200, body
    evidence = body["data"]["requestEvidenceUpload"]["evidence"]["id"]
    s3 = system.stack.s3
    assert s3 is not None
    assert s3.pid is not None
    finalize = "mutation($e: ID!) { finalizeEvidence(evidenceId: $e) { errors { code } } }"
    # paused: connections open but nothing answers (once a 5-minute hang per call)
    os.kill(s3.pid, signal.SIGSTOP)
    try:
        _unavailable(*system.gql(finalize, {"e": evidence}))
    finally:
        os.kill(s3.pid, signal.SIGCONT)
    s3.stop()  # the last test: moto would come back on another port
    _unavailable(*system.gql(finalize, {"e": evidence}))
    assert not system.ready()
    # what needs no object store keeps working
    status, body = system.gql("{ tickets(first: 5) { nodes { id } } }")
    assert status == 200, body
    assert "errors" not in body, body
