"""Other ``hotline`` commands find the embedded stack ``hotline run`` keeps running in
their home (its URLs in ``run/stack.env``, live while ``run/stack.lock`` is held)."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from hotline.platform import stackenv
from hotline.platform.settings import get_settings, reset_settings

URLS = {
    "HOTLINE_DATABASE_URL": "postgres://postgres@%2Ftmp%2Fsock/hotline",
    "HOTLINE_REDIS_URL": "unix:///tmp/redis.sock?db=0",
    "HOTLINE_S3_ENDPOINT": "http://127.0.0.1:45678",
}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    saved = {k: os.environ.get(k) for k in URLS}
    for key in URLS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOTLINE_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    reset_settings()
    yield tmp_path
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    reset_settings()


def _hold_lock(home: Path) -> int:
    descriptor = os.open(home / stackenv.LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return descriptor


def test_a_running_stack_is_found_and_used(home: Path) -> None:
    path = stackenv.write(home, {**URLS, "OTHER": "x"})
    assert path.stat().st_mode & 0o777 == 0o600
    # a file left by a stack that died (the lock is free) is ignored
    assert stackenv.running_env(home) is None
    assert stackenv.use_running_stack() == {}
    lock = _hold_lock(home)
    try:
        assert stackenv.running_env(home) == URLS
        assert stackenv.use_running_stack() == URLS
        settings = get_settings()
        assert settings.database_url == URLS["HOTLINE_DATABASE_URL"]
        assert settings.s3_endpoint == URLS["HOTLINE_S3_ENDPOINT"]
    finally:
        os.close(lock)
    stackenv.clear(home)
    assert stackenv.running_env(home) is None


def test_configured_urls_win(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stackenv.write(home, URLS)
    monkeypatch.setenv("HOTLINE_DATABASE_URL", "postgres://elsewhere/db")
    lock = _hold_lock(home)
    try:
        chosen = stackenv.use_running_stack()
    finally:
        os.close(lock)
    # all or none: a database named by hand never meets the dev stack's Redis and S3
    assert chosen == {}
    assert get_settings().database_url == "postgres://elsewhere/db"
    assert get_settings().redis_url != URLS["HOTLINE_REDIS_URL"]


def test_a_file_others_could_write_or_a_link_is_not_trusted(home: Path) -> None:
    path = stackenv.write(home, URLS)
    lock = _hold_lock(home)
    try:
        assert stackenv.running_env(home) == URLS
        path.chmod(0o660)  # a group could have written it
        assert stackenv.running_env(home) is None
        path.chmod(0o600)
        real = path.with_name("elsewhere.env")
        path.rename(real)
        path.symlink_to(real)  # a link planted in the home
        assert stackenv.running_env(home) is None
        path.unlink()
        assert stackenv.write(home, URLS) == path  # written as a new file, not through a link
        assert not path.is_symlink()
        assert stackenv.running_env(home) == URLS
    finally:
        os.close(lock)
