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
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
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
    try:
        data = json.loads((home / ENV_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not _locked(home / LOCK_FILE):
        return None
    return {k: str(v) for k, v in data.items() if k in SETTINGS and v}


def use_running_stack() -> dict[str, str]:
    """Point the settings not configured (environment, ``.env``) at the running embedded
    stack of ``settings.home``, if there is one; answer what was set."""
    settings = Settings()
    found = running_env(settings.home)
    if not found:
        return {}
    chosen = {
        key: value
        for key, value in found.items()
        if SETTINGS[key] not in settings.model_fields_set and key not in os.environ
    }
    if chosen:
        os.environ.update(chosen)
        reset_settings()
    return chosen
