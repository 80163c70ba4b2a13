"""sha256 of a stored object, streamed in chunks (never the whole body in memory)."""

from __future__ import annotations

import hashlib

from hotline.platform import storage
from hotline.platform.settings import Settings


async def object_sha256(key: str, *, settings: Settings | None = None) -> str | None:
    """Hex sha256 of the object, or None when it is missing."""
    digest = hashlib.sha256()
    if not await storage.consume(key, digest.update, settings=settings):
        return None
    return digest.hexdigest()
