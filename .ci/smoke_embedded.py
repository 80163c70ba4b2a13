"""Smoke test of the embedded path: `hotline run` with nothing configured.

Starts the whole system in a fresh home on a free port, waits until it is ready,
logs in as a demo user, answers one query, then stops it with Ctrl-C (SIGINT) and
checks that it exits cleanly and leaves no process behind.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def post(url: str, query: str, headers: dict[str, str] | None = None) -> dict:
    request = urllib.request.Request(
        url,
        data=json.dumps({"query": query}).encode(),
        headers={"content-type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def main() -> int:
    home = Path(tempfile.mkdtemp(prefix="hotline-smoke-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env.update({"HOTLINE_HOME": str(home), "HOTLINE_PORT": str(port)})
    proc = subprocess.Popen(
        [str(ROOT / ".venv/bin/hotline"), "run"], cwd=home, env=env, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                print(f"hotline run exited early with {proc.returncode}", file=sys.stderr)
                return 1
            try:
                with urllib.request.urlopen(base + "/readyz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                print("hotline run did not become ready in time", file=sys.stderr)
                return 1
            time.sleep(1)
        login = post(
            base + "/graphql",
            'mutation { login(username: "jinan_agent", password: "Hotline-demo-2026") '
            "{ tokens { accessToken } errors { code message } } }",
        )
        token = login["data"]["login"]["tokens"]["accessToken"]
        answer = post(
            base + "/graphql",
            "{ me { user { username } currentTenant { code name } } }",
            {"authorization": f"Bearer {token}", "x-hotline-tenant": "jinan"},
        )
        me = answer["data"]["me"]
        assert me["user"]["username"] == "jinan_agent", answer
        assert me["currentTenant"]["code"] == "370100", answer
        print("smoke: embedded stack answered", json.dumps(me, ensure_ascii=False))
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            print("hotline run did not stop within 60 s of Ctrl-C", file=sys.stderr)
            return 1
    leftovers = subprocess.run(
        ["pgrep", "-f", str(home)], capture_output=True, text=True, check=False
    ).stdout.split()
    if leftovers:
        print(f"processes left behind: {leftovers}", file=sys.stderr)
        return 1
    print(f"smoke: hotline run stopped cleanly (exit {code})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
