"""Migrations are safe while the previous release serves (docs/operations.md
"Migrations while the previous release serves").

"Previous release" is the last stop that landed on ``main`` — the commit recorded in
``previous_release.json`` with the GraphQL smoke queries its clients send (README's
work-order flow, frozen there). On this module's database, migrated by the **current**
code, the test

1. extracts the previous release's source roots with ``git archive`` and serves them
   (``hotline serve`` of that code, its own entry points) — the old pods still running
   while the migration Job has run — and runs every frozen query through it;
2. runs the same queries through the current code (in-process ASGI) — old clients of
   the new release.

Each operation must answer without errors. A migration that renames or drops what the
old code reads or writes fails step 1 (shown: renaming a column the old ``createTicket``
writes makes it fail); a schema change that breaks old clients fails step 2.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tarfile
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import httpx
import pytest

from hotline.platform.db.config import credentials
from hotline.platform.settings import get_settings
from hotline.schema.app import create_app
from hotline.schema.ids import encode_id

if TYPE_CHECKING:
    from tests.world import City, World

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = json.loads((Path(__file__).parent / "previous_release.json").read_text("utf-8"))
SOURCE_ROOTS = ("platform", "tenants", "schema", "workers")
STARTUP = 180.0


def _git(*args: str) -> bytes:
    return subprocess.run(
        ["git", *args],  # noqa: S607
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    ).stdout


def _previous_release(into: Path) -> Path:
    """The release's source roots plus a ``hotline`` dist-info made from its pyproject
    (its entry points: ORM apps, commands, handlers), first on ``PYTHONPATH``."""
    release = FIXTURE["release"]
    try:
        _git("cat-file", "-e", f"{release}^{{commit}}")
    except subprocess.CalledProcessError:
        pytest.skip(f"previous release {release[:10]} not in this clone's history")
    archive = _git("archive", "--format=tar", release, *SOURCE_ROOTS, "pyproject.toml")
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    project = tomllib.loads((into / "pyproject.toml").read_text("utf-8"))["project"]
    groups = {"console_scripts": project.get("scripts", {}), **project.get("entry-points", {})}
    site = into / "site"
    dist = site / "hotline-0.0.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: hotline\nVersion: 0.0.0\n")
    (dist / "entry_points.txt").write_text(
        "".join(
            f"[{group}]\n" + "".join(f"{name} = {target}\n" for name, target in items.items())
            for group, items in groups.items()
        )
    )
    return site


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _dig(data: Any, path: str) -> Any:
    for part in path.split("."):
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data


async def _tokens(city: City) -> dict[str, str]:
    return {
        who: await city.token(getattr(city, who))
        for who in ("agent", "dispatcher", "district_handler")
    }


async def _run_all(client: httpx.AsyncClient, city: City, where: str) -> list[str]:
    """Every frozen operation in order; the names of those that answered."""
    tokens = await _tokens(city)
    values: dict[str, str] = {
        "category": str(encode_id("Category", city.construction.id)),
        "area": str(encode_id("Department", city.street.id)),
        "district": str(encode_id("Department", city.district.id)),
        "bureau": str(encode_id("Department", city.bureau.id)),
    }
    answered = []
    for op in FIXTURE["operations"]:
        # as its clients send it: with the city header, unless frozen without one
        headers = {"X-Hotline-Tenant": city.slug} if op.get("tenant", True) else {}
        if op["who"] is not None:
            headers["Authorization"] = f"Bearer {tokens[op['who']]}"
        variables = {name: values[name] for name in op.get("variables", [])}
        response = await client.post(
            "/graphql", json={"query": op["query"], "variables": variables}, headers=headers
        )
        assert response.status_code == 200, (where, op["name"], response.text)
        body = response.json()
        assert not body.get("errors"), (where, op["name"], body)
        data = body["data"]
        payload = next(iter(data.values()))
        if isinstance(payload, dict) and "errors" in payload:
            assert payload["errors"] == [], (where, op["name"], payload)
        for name, path in op.get("keep", {}).items():
            values[name] = _dig(data, path)
        answered.append(op["name"])
    return answered


@contextmanager
def _serving(site: Path, roots: Path, port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``hotline serve`` of the previous release's code on ``port``."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), *(str(roots / r) for r in SOURCE_ROOTS)]),
    }
    # it is the previous release's code that answers, not ours
    probe = subprocess.run(
        [sys.executable, "-c", "import hotline.platform as p; print(p.__file__)"],
        env=env, capture_output=True, text=True, check=True, cwd=roots,
    )  # fmt: skip
    assert probe.stdout.startswith(str(roots)), probe.stdout
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "hotline.platform", "serve", "--host", "127.0.0.1",
             "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=roots,
        )  # fmt: skip
        try:
            yield server
        finally:
            server.terminate()
            server.wait(timeout=60)


async def test_previous_release_serves_on_the_migrated_schema(world: World, tmp_path: Path) -> None:
    roots = tmp_path / "previous"
    site = _previous_release(roots)
    port = _free_port()
    log = tmp_path / "previous.log"
    with _serving(site, roots, port, log) as server:
        deadline = time.monotonic() + STARTUP
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            while True:
                assert server.poll() is None, log.read_text()
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the previous release did not start"
                await asyncio.sleep(0.5)
            answered = await _run_all(client, world.alpha, "previous release")
            # the check bites: a "migration" renaming a column the old code writes
            # (a contract step shipped too early) makes the same queries fail
            await _owner("ALTER TABLE tickets RENAME COLUMN address TO address_v2")
            try:
                with pytest.raises(AssertionError, match="createTicket"):
                    await _run_all(client, world.alpha, "previous release")
            finally:
                await _owner("ALTER TABLE tickets RENAME COLUMN address_v2 TO address")
    assert answered == [op["name"] for op in FIXTURE["operations"]]


async def _owner(sql: str) -> None:
    conn = await asyncpg.connect(**credentials(get_settings().database_url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def test_previous_release_clients_on_the_current_code(world: World) -> None:
    app = create_app(get_settings(), manage_orm=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        answered = await _run_all(client, world.gamma, "current code")
    assert answered == [op["name"] for op in FIXTURE["operations"]]
