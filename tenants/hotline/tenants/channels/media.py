"""Fetching a file a sender points at (Open311 ``media_url``): through the guarded HTTP
client (the SSRF rules of :mod:`hotline.platform.senders.http`: never a private,
loopback or link-local address, checked where the socket opens), capped in size and
time, then the evidence upload checks (:mod:`hotline.tenants.evidence.received`)."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from hotline.platform.senders.errors import SendFailed
from hotline.platform.senders.http import http_client
from hotline.tenants.evidence.received import Received, check_received
from hotline.tenants.kernel.errors import Invalid

MAX_MEDIA_BYTES = 50 * 1024 * 1024


class MediaUnavailable(Invalid):
    """The source could not be reached, or answered 5xx/429: a job tries again later
    (a request, like Open311's POST, answers it as Invalid: the sender retries)."""


FETCH_SECONDS = 15.0


async def fetch_media(
    url: str, *, field: str = "media_url", max_bytes: int = MAX_MEDIA_BYTES
) -> Received:
    """The checked file at ``url``; Invalid (nothing stored) when it cannot be used.
    The download stops past ``max_bytes`` (a job that knows the file's kind passes the
    evidence policy's limit for it)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise Invalid("{source} must be an http or https URL", field=field, source=field)
    data = bytearray()
    try:
        async with http_client("guarded").stream(
            "GET", url.strip(), timeout=FETCH_SECONDS, follow_redirects=False
        ) as response:
            if not response.is_success:
                transient = response.status_code >= 500 or response.status_code == 429
                raise (MediaUnavailable if transient else Invalid)(
                    "{source} answered HTTP {status}",
                    field=field,
                    source=field,
                    status=response.status_code,
                )
            content_type = response.headers.get("content-type", "")
            async for chunk in response.aiter_bytes():
                data += chunk
                if len(data) > max_bytes:
                    raise Invalid(
                        "{source} is larger than {max} bytes",
                        field=field,
                        source=field,
                        max=max_bytes,
                    )
    except SendFailed as exc:  # permanent: an address the guard refuses
        raise (Invalid if exc.permanent else MediaUnavailable)(
            "{source} cannot be fetched: {why}", field=field, source=field, why=exc.args[0]
        ) from exc
    except httpx.HTTPError as exc:
        raise MediaUnavailable(
            "{source} cannot be fetched: {why}", field=field, source=field, why=type(exc).__name__
        ) from exc
    name = parts.path.rsplit("/", 1)[-1] or "media"
    return await check_received(
        file_name=name, content_type=content_type, data=bytes(data), field=field
    )
