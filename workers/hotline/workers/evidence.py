"""Evidence jobs: hash check, media processing, and the two sweeps (cron)."""

from __future__ import annotations

from typing import Any

from hotline.tenants.evidence import processing, sweeps, verification
from hotline.workers.retry import retrying
from hotline.workers.scoped import tenant_job


@tenant_job
async def verify_evidence(ctx: dict[str, Any], *, evidence_id: int) -> str | None:
    """Stream the upload's sha256: `verified` (then processed) or deleted as `rejected`."""
    status = await verification.verify_evidence(evidence_id=evidence_id)
    return status.value if status else None


@tenant_job
async def process_evidence(ctx: dict[str, Any], *, evidence_id: int) -> bool:
    """Thumbnails, poster frame, duration, EXIF time/GPS, and the metadata-free copy."""
    return await processing.process_evidence(evidence_id=evidence_id)


@retrying
async def sweep_unfinalized(ctx: dict[str, Any]) -> int:
    """Hourly, every city: delete uploads that were never finalized."""
    return await sweeps.sweep_unfinalized_everywhere()


@retrying
async def apply_retention(ctx: dict[str, Any]) -> int:
    """Nightly, every city: remove evidence past the city's retention after closure."""
    return await sweeps.apply_retention_everywhere()
