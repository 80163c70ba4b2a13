"""One throwaway environment per benchmark: the embedded stack (or the services named by
``HOTLINE_*``), a fresh database, its own Redis prefix and bucket; all gone afterwards."""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from hotline.platform.db.migrate import drop_database
from hotline.platform.devstack.stack import EmbeddedStack
from hotline.platform.settings import reset_settings


@contextmanager
def bench_environment(*, need_s3: bool = True, **extra: str) -> Iterator[None]:
    """Set ``HOTLINE_*`` for the block (plus ``extra``), then drop the database."""
    home = Path(tempfile.mkdtemp(prefix="hotline-bench-"))
    with EmbeddedStack(home=home, need_s3=None if need_s3 else False, persist_s3=False) as stack:
        env = stack.env()
        slug = secrets.token_hex(4)
        database = f"hotline_bench_{slug}"
        parts = urlsplit(env["HOTLINE_DATABASE_URL"])
        env["HOTLINE_DATABASE_URL"] = urlunsplit(parts._replace(path="/" + database))
        env["HOTLINE_REDIS_PREFIX"] = f"hlbench:{slug}"
        env["HOTLINE_S3_BUCKET"] = f"hlbench-{slug}"
        env.update(extra)
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        reset_settings()
        try:
            yield
        finally:
            asyncio.run(drop_database(env["HOTLINE_DATABASE_URL"], database))
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            reset_settings()
