"""``hotline run``: the whole system on one machine, as production runs it.

Starts the embedded stack for whatever ``HOTLINE_*`` URLs are not set, migrates, seeds
the demo province (idempotent), then runs the API and a worker as separate processes
by import string. Ctrl-C stops the processes, then the stack (which saves S3 objects).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from types import FrameType

import click

from hotline.platform.settings import get_settings

HOTLINE = [sys.executable, "-m", "hotline.platform"]


def _step(args: list[str], env: dict[str, str]) -> None:
    subprocess.run([*HOTLINE, *args], env=env, check=True)


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for proc in processes:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
    deadline = time.monotonic() + 15
    for proc in processes:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@click.command()
@click.option("--seed/--no-seed", default=True, show_default=True, help="Seed the demo province.")
def run(seed: bool) -> None:
    """Start the embedded stack (if needed), migrate, seed, serve the API and run a worker."""
    from hotline.platform.devstack.stack import EmbeddedStack

    settings = get_settings()
    stack = EmbeddedStack(home=settings.home)
    stack.start()
    processes: list[subprocess.Popen[bytes]] = []
    stopping = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        env = {**os.environ, **stack.env()}
        _step(["migrate"], env)
        if seed:
            _step(["seed", "--demo"], env)
        processes = [
            subprocess.Popen([*HOTLINE, "serve"], env=env),
            subprocess.Popen([*HOTLINE, "worker"], env=env),
        ]
        click.echo(
            f"\nHotline is running: GraphiQL at http://{settings.host}:{settings.port}/graphql"
            " — press Ctrl-C to stop.\n"
        )
        while not stopping and all(p.poll() is None for p in processes):
            time.sleep(0.5)
    finally:
        _stop(processes)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        stack.stop()
    failed = [
        p.args for p in processes if p.returncode not in (0, -signal.SIGINT, None) and not stopping
    ]
    if failed:
        raise click.ClickException(f"a process stopped unexpectedly: {failed}")
