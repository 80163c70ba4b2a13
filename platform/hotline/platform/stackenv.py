"""Where a running embedded stack (``hotline run``) can be found by other commands.

While it runs, the stack of a home keeps ``<home>/run/stack.env`` (``HOTLINE_*`` URLs
of its PostgreSQL, Redis and S3, JSON, mode 0600) beside ``run/stack.lock``, which it
holds locked. ``hotline token``, ``seed``, ``stats`` … started without those URLs set
(environment or ``.env``) use that running stack instead of the defaults, so a newcomer
reaches the demo that ``hotline run`` serves (docs/operations.md "The embedded stack").

A file left by a stack that died is ignored: the lock is free then. Import-light on
purpose: production installs have no embedded stack (the ``devstack`` group), and
this only reads a file.
"""

from __future__ import annotations

import fcntl
import json
import os
import stat
from pathlib import Path

from hotline.platform.settings import Settings, reset_settings

ENV_FILE = Path("run") / "stack.env"
LOCK_FILE = Path("run") / "stack.lock"
#: the variables the file holds, and the setting each one fills
SETTINGS = {
    "HOTLINE_DATABASE_URL": "database_url",
    "HOTLINE_REDIS_URL": "redis_url",
    "HOTLINE_S3_ENDPOINT": "s3_endpoint",
}


def write(home: Path, env: dict[str, str]) -> Path:
    """Record ``env`` for the running stack of ``home`` (the stack calls this)."""
    path = home / ENV_FILE
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.unlink(missing_ok=True)
    # never through a link planted in the home: a new file, ours, 0600
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump({k: v for k, v in env.items() if k in SETTINGS}, out)
    temporary.replace(path)
    return path


def clear(home: Path) -> None:
    (home / ENV_FILE).unlink(missing_ok=True)


def _locked(lock: Path) -> bool:
    """Whether some process holds ``lock`` (the running stack does)."""
    try:
        descriptor = os.open(lock, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)
    return False


def running_env(home: Path) -> dict[str, str] | None:
    """The URLs of the stack running in ``home``, or None if none runs there."""
    home = home.resolve()
    path = home / ENV_FILE
    try:
        info = path.lstat()
        # only a file of this user that nobody else may write (another user's file
        # could point this user's commands at a database of theirs)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not _locked(home / LOCK_FILE):
        return None
    return {k: str(v) for k, v in data.items() if k in SETTINGS and v}


def use_running_stack() -> dict[str, str]:
    """Point the settings at the running embedded stack of ``settings.home``, if there is
    one and none of its URLs is configured (environment, ``.env``): all three or none.
    Answers what was set."""
    settings = Settings()
    found = running_env(settings.home)
    if not found:
        return {}
    if any(
        setting in settings.model_fields_set or key in os.environ
        for key, setting in SETTINGS.items()
    ):
        # all or none: a database named by hand never meets the dev stack's Redis and S3
        return {}
    chosen = dict(found)
    if chosen:
        os.environ.update(chosen)
        reset_settings()
    return chosen
