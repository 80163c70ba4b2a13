"""The registry import's Python part (docs/business.md, "Import"): a chunk of the file's
rows validated, hashed and made into COPY records — in a pool of worker processes, so
that a large file's validation (stdnum's check character, the row parsing) and the
legal representatives' encryption (Fernet) use more than one core while the database
merges the chunk before.

A chunk comes with the registry's stored row hashes of its USCCs (read by the import's
transaction just before): a row whose hash is the stored one is validated like any
other but neither encrypted nor staged — it is counted ``unchanged``. Nothing here
touches the database; :func:`prepare` is pure apart from the encryption's fresh IVs.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from hotline.platform.crypto import encrypt_many, keyed_hash
from hotline.platform.settings import get_settings, reset_settings
from hotline.tenants.business.rows import EnterpriseRow, Rejected, check_rows

ROW_HASH = "business-registry-row"  # the keyed hash's purpose (crypto.keyed_hash)

Record = tuple[Any, ...]


def row_hash_key() -> bytes:
    """The key of the rows' hashes: derived from the platform's hash key for this purpose
    alone (one HMAC per import, :func:`keyed_hash`)."""
    return bytes.fromhex(keyed_hash("key", ROW_HASH))


def row_hash(row: EnterpriseRow, tag_json: str, key: bytes) -> str:
    """A keyed hash (BLAKE2b's keyed mode) of everything an import writes of the row, the
    legal representative in clear (its ciphertext differs on every encryption). Keyed, so
    the stored hash of a row says nothing of its representative to whoever reads the
    table; one C call per row, a tenth of an HMAC through :func:`keyed_hash`."""
    text = (
        f"{row.uscc}\x1f{row.name}\x1f{row.legal_rep}\x1f{row.industry}\x1f{row.section}"
        f"\x1f{row.employees}\x1f{row.revenue}\x1f{row.size_class}\x1f{row.area_id}"
        f"\x1f{row.registered_capital}\x1f{row.founded_on}\x1f{row.status}\x1f{tag_json}"
    )
    return hashlib.blake2b(text.encode(), key=key, digest_size=32).hexdigest()


def json_tags(tags: Sequence[str]) -> str:
    return json.dumps(list(tags), ensure_ascii=False)


def records(rows: Sequence[EnterpriseRow], key: bytes) -> list[Record]:
    """COPY records of ``rows`` (the order of ``registry_write.STAGE_COLUMNS``): the legal
    representatives encrypted in one batch (:func:`encrypt_many`, a fresh IV each), a tag
    list's JSON written once per list, the row's hash last."""
    tags: dict[tuple[str, ...], str] = {}
    hashed = []
    for row in rows:
        tag_json = tags.get(row.tags)
        if tag_json is None:
            tag_json = tags[row.tags] = json_tags(row.tags)
        hashed.append((row, tag_json, row_hash(row, tag_json, key)))
    return _records(hashed)


def _records(hashed: Sequence[tuple[EnterpriseRow, str, str]]) -> list[Record]:
    tokens = iter(encrypt_many([row.legal_rep for row, _, _ in hashed if row.legal_rep]))
    return [
        (
            row.uscc,
            row.name,
            next(tokens) if row.legal_rep else None,
            row.industry,
            row.section,
            row.employees,
            row.revenue,
            row.size_class.value if row.size_class else None,
            row.area_id,
            row.registered_capital,
            row.founded_on,
            row.status.value,
            tag_json,
            digest,
        )
        for row, tag_json, digest in hashed
    ]


@dataclass(frozen=True)
class Context:
    """What every chunk of one import is checked against."""

    columns: dict[str, int]  # column → its index in a row (rows.header_map)
    areas: dict[str, int]
    today: date
    hash_key: bytes  # row_hash_key()


@dataclass(frozen=True)
class Batch:
    rows: list[list[str]]  # the file's rows, as read
    first_line: int  # the file's line of rows[0] (the header is 1)
    stored: dict[str, str | None]  # USCC → its registry row's hash, for those it has


@dataclass
class Prepared:
    # each good row: its line, USCC and COPY record (None: the same as the stored row)
    good: list[tuple[int, str, Record | None]] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


def prepare(context: Context, batch: Batch) -> Prepared:
    """``batch`` validated row by row (every row, with the maintained validators), each
    good row hashed, and the changed or new ones encrypted into COPY records."""
    out = Prepared()
    changed: list[tuple[EnterpriseRow, str, str]] = []
    places: list[int] = []  # where each changed row's record goes in out.good
    tags: dict[tuple[str, ...], str] = {}
    checked = check_rows(
        batch.rows,
        context.columns,
        first_line=batch.first_line,
        areas=context.areas,
        today=context.today,
    )
    for line, row in checked:
        if isinstance(row, Rejected):
            out.rejected.append(row)
            continue
        tag_json = tags.get(row.tags)
        if tag_json is None:
            tag_json = tags[row.tags] = json_tags(row.tags)
        digest = row_hash(row, tag_json, context.hash_key)
        if batch.stored.get(row.uscc) == digest:
            out.good.append((line, row.uscc, None))
            continue
        places.append(len(out.good))
        out.good.append((line, row.uscc, None))
        changed.append((row, tag_json, digest))
    for place, record in zip(places, _records(changed), strict=True):
        line, uscc, _ = out.good[place]
        out.good[place] = (line, uscc, record)
    return out


def usccs(rows: Sequence[list[str]], columns: Mapping[str, int]) -> list[str]:
    """The USCCs ``rows`` name as written (to read their stored hashes; a code written
    otherwise than canonically is simply not found, and merged by the database)."""
    index = columns["uscc"]
    return [r[index].strip() for r in rows if index < len(r) and r[index].strip()]


# The worker processes: started on first use (spawned, never forked from the event
# loop's threads), kept for the next import, restarted when the HOTLINE_* environment
# they were started with changed (a test's, a benchmark's) or a worker died.
_pool: tuple[dict[str, str], ProcessPoolExecutor] | None = None
_probes: list[Future[bool]] = []  # one per worker: done once it has started


def _environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith("HOTLINE_")}


def _start(environment: dict[str, str]) -> None:
    """A worker's start: the parent's settings (the data keys the records are encrypted
    with among them)."""
    os.environ.update(environment)
    reset_settings()


def _ready() -> bool:
    return True


def workers() -> ProcessPoolExecutor:
    """The pool that prepares chunks (HOTLINE_IMPORT_WORKERS processes, at least one);
    its workers start now if they have not."""
    global _pool
    environment = _environment()
    # a worker process that died broke the pool (the import it served failed and is
    # retried by its job): the next import gets a new one
    if _pool is not None and _pool[0] == environment and not _pool[1]._broken:
        return _pool[1]
    discard()
    # the Python part is CPU-bound (stdnum, Fernet, parsing): threads would share one core
    count = max(1, min(get_settings().import_workers, len(os.sched_getaffinity(0))))
    pool = ProcessPoolExecutor(
        max_workers=count,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start,
        initargs=(environment,),
    )
    _pool = (environment, pool)
    _probes[:] = [pool.submit(_ready) for _ in range(count)]
    return pool


def warm() -> None:
    """Start the workers ahead of the first chunk (their start is an interpreter's)."""
    workers()


def count() -> int:
    """How many workers the current pool has (0: none yet)."""
    return len(_probes)


def started() -> bool:
    """Whether every worker has started: until then (seconds on a busy machine) chunks
    are better prepared in the importing process than queued behind the start."""
    return bool(_probes) and all(p.done() for p in _probes)


def discard() -> None:
    """Stop the workers (a broken pool is replaced on next use)."""
    global _pool
    if _pool is not None:
        _pool[1].shutdown(wait=False, cancel_futures=True)
        _pool = None
        _probes.clear()
