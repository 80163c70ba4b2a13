"""SIGTERM on a real ``hotline serve``: a request in flight when the signal arrives (its
body still arriving) is answered in full, new connections are refused, and the process
exits (uvicorn re-raises the SIGTERM once it has shut down)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import httpx

from hotline.platform.settings import Settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except OSError:
        return True


def test_sigterm_drains_in_flight_requests(db: Settings) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "hotline.platform", "serve", "--port", str(port)],
        env={**os.environ, "HOTLINE_SHUTDOWN_GRACE_SECONDS": "30"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120  # start-up on a loaded machine; not a timing test
        while True:
            assert server.poll() is None
            assert time.monotonic() < deadline
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        body = json.dumps({"query": "{ __typename }"}).encode()
        half = len(body) // 2
        client = socket.create_connection(("127.0.0.1", port), timeout=30)
        client.sendall(
            b"POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body[:half]
        )
        time.sleep(0.5)  # the server has the headers: the request is in flight
        server.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        while not _refused(port):  # it stops accepting first
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert server.poll() is None  # still serving the request in flight
        client.sendall(body[half:])
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk
        client.close()
        head, _, payload = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), answer[:300]
        assert json.loads(payload)["data"] == {"__typename": "Query"}
        # uvicorn shuts down gracefully, then re-raises the signal it caught (exit by SIGTERM)
        assert server.wait(timeout=60) in (0, -signal.SIGTERM)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
