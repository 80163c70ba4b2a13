"""``make bench-load``: a province load run over HTTP on loopback (issue 11.6).

In a throwaway environment (the services named by ``HOTLINE_*``, embedded ones
otherwise; a fresh database and Redis prefix) the demo province is seeded, then for
each configuration — one API process and one worker, then two API processes (two
``hotline serve`` on two ports, the desks spread over them as a balancer would) and one
worker — the processes are started and locust runs the busy
center's mix (:mod:`benchmarks.locustfile`) headless against 127.0.0.1 for a bounded
time. Printed per configuration: throughput, p50/p99 and errors per operation, and the
check that every acknowledged work order exists exactly once.

Then the creation capacity: one API process, desks that only create work orders with no
pause between requests (``BENCH_LOAD_CAPACITY_SECONDS``, default 120; 0 skips it) — the
mix above is paced like people, so it cannot show how many creations a process carries.

Each run is preceded by a warm-up of the same mix (``BENCH_LOAD_WARMUP_SECONDS``, default
60), printed but not measured: a process's first minute loads dictionaries and models and
fills its pools, and those seconds would otherwise set the p99 of the whole run.

Bounds: ``BENCH_LOAD_SECONDS`` (default 600 per configuration, the issue's ten minutes;
``--smoke`` runs 15), ``BENCH_LOAD_USERS`` (default 30 desks), ``BENCH_LOAD_PROCESSES``
(default "1,2": the API process counts to run).
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx
import psutil

from benchmarks.environment import bench_environment
from hotline.platform.db.config import credentials
from hotline.platform.settings import get_settings

BIN = Path(sys.executable).parent
DESKS = {"agent": "jinan_agent", "handler": "lixia_handler", "dispatcher": "jinan_dispatcher"}


def _hotline(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "hotline"), *args], check=True, capture_output=True, text=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_ready(url: str, process: subprocess.Popen[bytes], seconds: float = 600) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the API exited ({process.returncode})")
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError("the API did not come up")


async def _exactly_once(numbers: list[str]) -> tuple[int, int, int]:
    """(acknowledged, found exactly once, missing or duplicated) among ``numbers``."""
    conn = await asyncpg.connect(**credentials(get_settings().database_url))
    try:
        rows = await conn.fetch(
            "SELECT number, count(*) AS n FROM tickets WHERE number = ANY($1) GROUP BY number",
            numbers,
        )
    finally:
        await conn.close()
    once = sum(1 for r in rows if r["n"] == 1)
    return len(numbers), once, len(set(numbers)) - once + (len(numbers) - len(set(numbers)))


def _cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.Error:  # ended meanwhile
            continue
        total += times.user + times.system
    return total


def _servers(database: str) -> dict[str, list[psutil.Process]]:
    """PostgreSQL's processes serving ``database`` (and its shared background ones) and
    Redis's, when they run on this machine: other databases' sessions are not counted."""
    found: dict[str, list[psutil.Process]] = {"PostgreSQL": [], "Redis": []}
    for process in psutil.process_iter(["name", "cmdline"]):
        name = process.info["name"] or ""
        title = " ".join(process.info["cmdline"] or [])
        if name.startswith("postgres"):
            session = "(" in title  # "postgres: user database host(port) state"
            if not session or f" {database} " in title:
                found["PostgreSQL"].append(process)
        elif name.startswith("redis-server"):
            found["Redis"].append(process)
    return found


class CpuAccount:
    """CPU seconds each part of the system spent during a run: the API processes, the
    worker, PostgreSQL and Redis when local, and the load generator — where a request's
    cost goes when the cores are shared."""

    def __init__(self, apis: list[subprocess.Popen[bytes]], worker: subprocess.Popen[bytes]):
        self.parts = {
            "API": [psutil.Process(a.pid) for a in apis],
            "worker": [psutil.Process(worker.pid)],
        }

    def start(self) -> None:
        database = urlsplit(get_settings().database_url).path.lstrip("/")
        self.parts.update(_servers(database))
        self.before = {k: _cpu_seconds(v) for k, v in self.parts.items()}
        self.children = _children_cpu()

    def stop(self) -> None:
        self.spent = {k: _cpu_seconds(v) - self.before[k] for k, v in self.parts.items()}
        self.spent["locust"] = _children_cpu() - self.children

    def report(self, requests: int, seconds: float) -> None:
        total = sum(self.spent.values())
        parts = ", ".join(
            f"{k} {v:.0f} s ({v / max(total, 1e-9):.0%})" for k, v in self.spent.items() if v
        )
        print(
            f"CPU: {parts}; {total / max(seconds, 1e-9):.2f} cores busy, "
            f"{1000 * total / max(requests, 1):.1f} ms of CPU per request"
        )


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _requests(stats_csv: Path) -> int:
    with stats_csv.open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["Name"] == "Aggregated"]
    return int(rows[0]["Request Count"]) if rows else 0


def _report(
    label: str, stats_csv: Path, seconds: float, check: tuple[int, int, int] | None
) -> None:
    print(f"\n{label}: {seconds:.0f} s")
    head = f"{'requests':>9} {'per s':>7} {'p50 ms':>7} {'p99 ms':>7} {'errors':>7}"
    print(f"{'operation':22} {head}")
    with stats_csv.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            name = row["Name"] if row["Name"] != "Aggregated" else "all"
            if name.startswith("setup"):
                continue
            print(
                f"{name:22} {int(row['Request Count']):9} {float(row['Requests/s']):7.1f} "
                f"{row['50%']:>7} {row['99%']:>7} {int(row['Failure Count']):7}"
            )
    if check is None:
        return
    acknowledged, once, wrong = check
    print(
        f"work orders acknowledged: {acknowledged}, present exactly once: {once}, "
        f"missing or duplicated: {wrong}"
    )


def _configuration(
    processes: int,
    seconds: int,
    users: int,
    tokens: dict[str, str],
    *,
    warmup: int,
    capacity: bool = False,
) -> None:
    ports = [_free_port() for _ in range(processes)]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    work = Path(tempfile.mkdtemp(prefix="hotline-load-"))
    created = work / "created.txt"
    created.touch()
    env = {**os.environ, "HOTLINE_HOST": "127.0.0.1"}
    # one `hotline serve` per API process, each on its own port (desks spread over them)
    apis = [
        subprocess.Popen(
            [str(BIN / "hotline"), "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(work / f"api-{port}.log").open("wb"),
        )
        for port in ports
    ]
    worker = subprocess.Popen(
        [str(BIN / "hotline"), "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(work / "worker.log").open("wb"),
    )
    try:
        for url, api in zip(urls, apis, strict=True):
            _wait_ready(url, api)

        def locust(name: str, run_seconds: int) -> None:
            subprocess.run(
                [
                    str(BIN / "locust"),
                    "-f",
                    str(Path(__file__).with_name("locustfile.py")),
                    "--headless",
                    "--only-summary",
                    "-u",
                    str(users),
                    "-r",
                    str(max(users // 5, 4)),
                    "-t",
                    f"{run_seconds}s",
                    "--stop-timeout",
                    "10",
                    "--host",
                    urls[0],
                    "--csv",
                    str(work / name),
                    "--loglevel",
                    "WARNING",
                    *(["--tags", "create"] if capacity else []),
                ],
                env={
                    **env,
                    "BENCH_LOAD_TOKENS": json.dumps(tokens),
                    "BENCH_LOAD_CREATED": str(created),
                    "BENCH_LOAD_HOSTS": ",".join(urls),
                    "BENCH_LOAD_PAUSE": "0" if capacity else "1",
                },
                check=False,
                stdout=subprocess.DEVNULL,
                stderr=(work / f"{name}.log").open("wb"),
            )

        if warmup:  # the processes' first minute (models, dictionaries, pools): not measured
            locust("warmup", warmup)
        cpu = CpuAccount(apis, worker)
        cpu.start()
        started = time.monotonic()
        locust("run", seconds)
        elapsed = time.monotonic() - started
        cpu.stop()
    finally:
        for process in (*apis, worker):
            process.terminate()
        for process in (*apis, worker):
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
    numbers = [n for n in created.read_text(encoding="utf-8").split() if n]
    check = asyncio.run(_exactly_once(numbers))
    label = f"{processes} API process{'es' if processes > 1 else ''} + 1 worker, {users} desks"
    if capacity:
        label = f"creation capacity ({label}, creates only, no pause)"
    if warmup:
        _report(f"{label} — warm-up (not measured)", work / "warmup_stats.csv", warmup, None)
    _report(label, work / "run_stats.csv", elapsed, check)
    cpu.report(_requests(work / "run_stats.csv"), elapsed)
    print(f"(logs and locust's CSV: {work})", flush=True)


def main(smoke: bool = False) -> int:
    seconds = 15 if smoke else int(os.environ.get("BENCH_LOAD_SECONDS", "600"))
    users = 4 if smoke else int(os.environ.get("BENCH_LOAD_USERS", "30"))
    warmup = 0 if smoke else int(os.environ.get("BENCH_LOAD_WARMUP_SECONDS", "60"))
    counts = [int(p) for p in os.environ.get("BENCH_LOAD_PROCESSES", "1,2").split(",")]
    with bench_environment():
        _hotline("migrate")
        _hotline("seed", "--demo")
        tokens = {
            desk: _hotline("token", "--user", user, "--minutes", "120", "--raw").stdout.strip()
            for desk, user in DESKS.items()
        }
        for processes in counts[:1] if smoke else counts:
            _configuration(processes, seconds, users, tokens, warmup=warmup)
        capacity = 10 if smoke else int(os.environ.get("BENCH_LOAD_CAPACITY_SECONDS", "120"))
        if capacity:
            _configuration(1, capacity, users, tokens, warmup=warmup, capacity=True)
    return 0


if __name__ == "__main__":
    sys.exit(main("--smoke" in sys.argv[1:]))
