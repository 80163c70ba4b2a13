"""What the channels' HTTP doors answer when a service they depend on is down (the
database, Redis, the object store): 503 with ``Retry-After``, nothing stored, so the
sender retries (docs/channels.md, docs/operations.md)."""

from __future__ import annotations

import json

import structlog
from starlette.responses import Response

log = structlog.get_logger(__name__)

RETRY_AFTER_SECONDS = 5


def log_unavailable(exc: BaseException) -> None:
    log.warning("channel.unavailable", error=type(exc).__name__, detail=str(exc)[:300])


def unavailable(exc: BaseException) -> Response:
    log_unavailable(exc)
    content = {
        "error": {"code": "UNAVAILABLE", "message": "a service is unavailable; try again shortly"}
    }
    return Response(
        json.dumps(content, ensure_ascii=False),
        status_code=503,
        media_type="application/json",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )
