"""The object-store port (MinIO / any S3): the only module that talks to the ``minio`` client.

The client is synchronous, so every call runs in a worker thread. Object keys always
start with the tenant (``t/<tenant_id>/…``) — see :func:`tenant_key`.

Presigned links are signed locally (no request to the server); their expiry, and the
conditions of a POST policy, are the server's to enforce — real MinIO does, the local
stand-in (moto) does not, so callers check what arrived (size, type, hash) themselves.
"""

from __future__ import annotations

import asyncio
import io
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote, urlsplit

import certifi
import urllib3
from minio import Minio
from minio.commonconfig import ENABLED, Filter
from minio.datatypes import PostPolicy
from minio.error import S3Error
from minio.lifecycleconfig import AbortIncompleteMultipartUpload, LifecycleConfig, Rule

from hotline.platform import clock
from hotline.platform.settings import Settings, get_settings
from hotline.platform.tenancy import ScopeKind, TenantNotSet, current_scope, current_tenant_id

CHUNK = 1024 * 1024
_MISSING = frozenset({"NoSuchKey", "NoSuchObject", "NotFound"})


@lru_cache(maxsize=8)
def _client(endpoint: str, access_key: str, secret_key: str, region: str, timeout: float) -> Minio:
    parts = urlsplit(endpoint)
    # minio's own pool waits 5 minutes per read and retries 5 times: bounded here
    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=min(timeout, 2.0), read=timeout),
        maxsize=10,
        cert_reqs="CERT_REQUIRED",
        ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
        # a refused connection or a 5xx is tried twice more, a failed read once (a stale
        # pooled connection; a paused store then costs the caller two timeouts, not six)
        retries=urllib3.Retry(
            total=2, read=1, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]
        ),
    )
    return Minio(
        parts.netloc,
        access_key=access_key,
        secret_key=secret_key,
        secure=parts.scheme == "https",
        region=region,  # always pass it: otherwise the client asks the server first
        http_client=http,
    )


def client(settings: Settings | None = None) -> Minio:
    s = settings or get_settings()
    return _client(
        s.s3_endpoint,
        s.s3_access_key,
        s.s3_secret_key.get_secret_value(),
        s.s3_region,
        s.s3_timeout_seconds,
    )


async def ensure_bucket(settings: Settings | None = None) -> None:
    """Create the bucket if missing; abandoned multipart uploads are removed after a day."""
    s = settings or get_settings()
    minio = client(s)

    def make() -> None:
        if not minio.bucket_exists(s.s3_bucket):
            minio.make_bucket(s.s3_bucket, location=s.s3_region)
        minio.set_bucket_lifecycle(
            s.s3_bucket,
            LifecycleConfig(
                [
                    Rule(
                        ENABLED,
                        rule_filter=Filter(prefix=""),
                        rule_id="abort-incomplete-uploads",
                        abort_incomplete_multipart_upload=AbortIncompleteMultipartUpload(1),
                    )
                ]
            ),
        )

    await asyncio.to_thread(make)


async def ping(settings: Settings | None = None) -> bool:
    s = settings or get_settings()
    return await asyncio.to_thread(client(s).bucket_exists, s.s3_bucket)


def tenant_key(*parts: str) -> str:
    """``t/<tenant>/<parts…>/<random>``: scoped to the current city and not guessable."""
    return "/".join(["t", str(current_tenant_id()), *parts, secrets.token_urlsafe(18)])


def province_key(*parts: str) -> str:
    """``p/<province>/<parts…>/<random>``: an object of the current province scope
    (a province-wide export), beside no city's prefix."""
    scope = current_scope()
    if scope.kind is not ScopeKind.PROVINCE or scope.province_id is None:
        raise TenantNotSet("no province scope is set for this task")
    return "/".join(["p", str(scope.province_id), *parts, secrets.token_urlsafe(18)])


@dataclass(frozen=True)
class PresignedPost:
    """An HTML-form upload: POST ``url`` as multipart with ``fields`` first, then ``file``."""

    url: str
    fields: dict[str, str]
    expires_at: datetime


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    content_type: str
    etag: str


def bucket_url(settings: Settings | None = None) -> str:
    s = settings or get_settings()
    return f"{s.s3_endpoint.rstrip('/')}/{s.s3_bucket}"


async def presigned_post(
    key: str,
    *,
    content_type: str,
    min_size: int,
    max_size: int,
    expires: timedelta,
    settings: Settings | None = None,
) -> PresignedPost:
    """A POST policy fixing the key, the content type and the size range."""
    s = settings or get_settings()
    expires_at = clock.now() + expires
    policy = PostPolicy(s.s3_bucket, expires_at)
    policy.add_equals_condition("key", key)
    policy.add_equals_condition("Content-Type", content_type)
    policy.add_content_length_range_condition(min_size, max_size)
    # Signing is local (no request), so no thread is needed.
    fields = client(s).presigned_post_policy(policy)
    return PresignedPost(
        url=bucket_url(s) + "/",
        fields={"key": key, "Content-Type": content_type, **fields},
        expires_at=expires_at,
    )


async def presigned_get(
    key: str,
    *,
    expires: timedelta,
    file_name: str | None = None,
    settings: Settings | None = None,
) -> str:
    s = settings or get_settings()
    headers: dict[str, str | list[str] | tuple[str]] | None = None
    if file_name is not None:
        headers = {"response-content-disposition": _attachment(file_name)}
    return client(s).presigned_get_object(
        s.s3_bucket, key, expires=expires, response_headers=headers
    )


def _attachment(file_name: str) -> str:
    return f"attachment; filename*=UTF-8''{quote(file_name, safe='')}"


def _missing(exc: S3Error) -> bool:
    return exc.code in _MISSING


async def stat(key: str, *, settings: Settings | None = None) -> ObjectInfo | None:
    """Size and type of an object, or None when there is none under ``key``."""
    s = settings or get_settings()

    def run() -> ObjectInfo | None:
        try:
            o = client(s).stat_object(s.s3_bucket, key)
        except S3Error as exc:
            if _missing(exc):
                return None
            raise
        return ObjectInfo(
            size=int(o.size or 0),
            content_type=o.content_type or "application/octet-stream",
            etag=o.etag or "",
        )

    return await asyncio.to_thread(run)


async def read_range(
    key: str, *, offset: int = 0, length: int, settings: Settings | None = None
) -> bytes | None:
    """Up to ``length`` bytes from ``offset`` (a ranged GET), or None when missing."""
    s = settings or get_settings()

    def run() -> bytes | None:
        try:
            response = client(s).get_object(s.s3_bucket, key, offset=offset, length=length)
        except S3Error as exc:
            if _missing(exc):
                return None
            raise
        try:
            return bytes(response.read())
        finally:
            response.close()
            response.release_conn()

    return await asyncio.to_thread(run)


async def consume(
    key: str, sink: Callable[[bytes], object], *, settings: Settings | None = None
) -> bool:
    """Stream the object through ``sink`` chunk by chunk; False when it is missing."""
    s = settings or get_settings()

    def run() -> bool:
        try:
            response = client(s).get_object(s.s3_bucket, key)
        except S3Error as exc:
            if _missing(exc):
                return False
            raise
        try:
            for chunk in response.stream(CHUNK):
                sink(chunk)
        finally:
            response.close()
            response.release_conn()
        return True

    return await asyncio.to_thread(run)


async def download(key: str, path: Path, *, settings: Settings | None = None) -> bool:
    """Copy the object to a local file; False when it is missing."""
    s = settings or get_settings()

    def run() -> bool:
        try:
            client(s).fget_object(s.s3_bucket, key, str(path))
        except S3Error as exc:
            if _missing(exc):
                return False
            raise
        return True

    return await asyncio.to_thread(run)


async def put(
    key: str, data: bytes, *, content_type: str, settings: Settings | None = None
) -> None:
    s = settings or get_settings()
    await asyncio.to_thread(
        client(s).put_object,
        s.s3_bucket,
        key,
        io.BytesIO(data),
        len(data),
        content_type=content_type,
    )


async def upload_file(
    key: str, path: Path, *, content_type: str, settings: Settings | None = None
) -> None:
    s = settings or get_settings()
    await asyncio.to_thread(
        client(s).fput_object, s.s3_bucket, key, str(path), content_type=content_type
    )


async def delete(*keys: str, settings: Settings | None = None) -> None:
    """Remove objects; keys that do not exist are no error (S3 semantics)."""
    s = settings or get_settings()

    def run() -> None:
        for key in keys:
            client(s).remove_object(s.s3_bucket, key)

    if keys:
        await asyncio.to_thread(run)
