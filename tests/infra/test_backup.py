"""``hotline backup`` / ``hotline restore`` round trip on this session's stack, as real
processes: tickets with timelines in two cities and evidence objects are backed up, the
originals' objects destroyed, and the backup restored into a fresh database and bucket;
every row count equal, every chain verifies (the restore command checks, and so do we),
every evidence object's sha256 matches its row. A tampered backup is refused."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from hotline.platform import backup as backups
from hotline.platform import clock, storage
from hotline.platform.db.migrate import drop_database
from hotline.platform.settings import Settings
from hotline.platform.tenancy import use_scope
from hotline.tenants.evidence.models import Evidence, EvidenceStatus, Kind, Purpose

if TYPE_CHECKING:
    from tests.tickets_api.conftest import World


def _hotline(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hotline.platform", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _elsewhere(settings: Settings, slug: str) -> dict[str, str]:
    parts = urlsplit(settings.database_url)
    database = f"{parts.path.lstrip('/')}_{slug}"
    return {
        **os.environ,
        "HOTLINE_DATABASE_URL": urlunsplit(parts._replace(path="/" + database)),
        "HOTLINE_S3_BUCKET": f"{settings.s3_bucket}-{slug}",
    }


async def test_backup_destroy_restore_compare(world: World, tmp_path: Path) -> None:
    settings = world.settings
    evidence = {}
    for city in (world.alpha, world.beta):
        for n in range(3):
            made = await world.ticket(city)
            if n == 0:
                data = secrets.token_bytes(2048)
                key = f"t/{city.tenant.id}/evidence/{made.ticket.id}-{n}"
                await storage.put(key, data, content_type="image/jpeg")
                with use_scope(city.scope()):
                    row = await Evidence.create(
                        ticket_id=made.ticket.id,
                        purpose=Purpose.CITIZEN,
                        status=EvidenceStatus.VERIFIED,
                        kind=Kind.PHOTO,
                        file_name="p.jpg",
                        declared_type="image/jpeg",
                        size=len(data),
                        sha256=hashlib.sha256(data).hexdigest(),
                        object_key=key,
                        upload_expires_at=clock.now() + timedelta(hours=1),
                    )
                evidence[key] = row.sha256

    out = tmp_path / "backup"
    backed = _hotline("backup", str(out), env=dict(os.environ))
    assert backed.returncode == 0, backed.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["tickets"] >= 6
    assert set(manifest["timeline_heads"]) == {
        str(world.alpha.tenant.id),
        str(world.beta.tenant.id),
    }
    assert {k: v["sha256"] for k, v in manifest["objects"].items() if k in evidence} == evidence
    original_counts = await backups.row_counts(settings.database_url)

    # destroy the originals' objects; restore into a fresh database and bucket
    await storage.delete(*evidence)
    fresh = _elsewhere(settings, "restored")
    try:
        restored = _hotline("restore", str(out), env=fresh)
        assert restored.returncode == 0, restored.stderr
        assert "match the backup" in restored.stdout
        counts = await backups.row_counts(fresh["HOTLINE_DATABASE_URL"])
        assert counts == original_counts
        bucket = Settings(s3_bucket=fresh["HOTLINE_S3_BUCKET"])
        for key, digest in evidence.items():
            response = storage.client(bucket).get_object(bucket.s3_bucket, key)
            try:
                assert hashlib.sha256(response.read()).hexdigest() == digest
            finally:
                response.close()
                response.release_conn()

        # a tampered object in the backup is found before anything is trusted
        first = next(iter(evidence))
        (out / "objects" / first).write_bytes(b"tampered")
        again = _elsewhere(settings, "tampered")
        try:
            refused = _hotline("restore", str(out), env=again)
            assert refused.returncode != 0
            assert "sha256" in refused.stderr
        finally:
            await drop_database(
                settings.database_url, urlsplit(again["HOTLINE_DATABASE_URL"]).path[1:]
            )
    finally:
        await drop_database(settings.database_url, urlsplit(fresh["HOTLINE_DATABASE_URL"]).path[1:])
