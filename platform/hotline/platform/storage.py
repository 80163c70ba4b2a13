"""The object-store port (MinIO / any S3): the only module that talks to the ``minio`` client.

The client is synchronous, so every call runs in a worker thread. Object keys always
start with the tenant (``t/<tenant_id>/…``) — see :func:`tenant_key`.
"""

from __future__ import annotations

import asyncio
import secrets
from functools import lru_cache
from urllib.parse import urlsplit

from minio import Minio

from hotline.platform.settings import Settings, get_settings
from hotline.platform.tenancy import current_tenant_id


@lru_cache(maxsize=8)
def _client(endpoint: str, access_key: str, secret_key: str, region: str) -> Minio:
    parts = urlsplit(endpoint)
    return Minio(
        parts.netloc,
        access_key=access_key,
        secret_key=secret_key,
        secure=parts.scheme == "https",
        region=region,  # always pass it: otherwise the client asks the server first
    )


def client(settings: Settings | None = None) -> Minio:
    s = settings or get_settings()
    return _client(s.s3_endpoint, s.s3_access_key, s.s3_secret_key.get_secret_value(), s.s3_region)


async def ensure_bucket(settings: Settings | None = None) -> None:
    s = settings or get_settings()
    minio = client(s)

    def make() -> None:
        if not minio.bucket_exists(s.s3_bucket):
            minio.make_bucket(s.s3_bucket, location=s.s3_region)

    await asyncio.to_thread(make)


async def ping(settings: Settings | None = None) -> bool:
    s = settings or get_settings()
    return await asyncio.to_thread(client(s).bucket_exists, s.s3_bucket)


def tenant_key(*parts: str) -> str:
    """``t/<tenant>/<parts…>/<random>``: scoped to the current city and not guessable."""
    return "/".join(["t", str(current_tenant_id()), *parts, secrets.token_urlsafe(18)])
