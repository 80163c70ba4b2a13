"""Structured logs (structlog): console lines in development, JSON in production.

Tokens, passwords and personal data never reach the logs: :func:`redact` (a structlog
processor) replaces the values of sensitive keys (``password``, ``token``, ``phone``,
``email``, ``body`` …) and :func:`scrub` removes what looks like a secret or personal
data from every other string — JWTs, bearer credentials, ``token=`` query parameters,
mobile numbers, e-mail addresses. The standard-library records (uvicorn, arq, Tortoise)
pass through the same scrubber. See docs/operations.md.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any, TextIO

import structlog
from opentelemetry import trace

from hotline.platform.settings import get_settings

REDACTED = "[redacted]"
SENSITIVE_KEYS = frozenset(
    {
        "password",
        "new_password",
        "old_password",
        "current_password",
        "password_hash",
        "token",
        "access_token",
        "refresh_token",
        "reset_token",
        "id_token",
        "secret",
        "client_secret",
        "api_key",
        "authorization",
        "cookie",
        "totp_code",
        "totp_secret",
        "query_code",
        "phone",
        "citizen_phone",
        "mobile",
        "email",
        "to",
        "body",
        "content",
        "id_number",
        "address",
    }
)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # JSON Web Tokens (three base64url parts, the first two starting with '{"')
    (re.compile(r"eyJ[\w-]{5,}\.eyJ[\w-]{5,}\.[\w-]*"), "[jwt]"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[\w.~+/=-]{8,}"), r"\1 [redacted]"),
    # secrets in URLs and forms: ?token=…, &password=…, api_key=…
    (
        re.compile(
            r"(?i)(?<![a-z0-9])((?:access_|refresh_|id_)?token|password|(?:app_?)?secret|api_key|code)"
            r"=[^&\s\"']+"
        ),
        r"\1=[redacted]",
    ),
    (re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"), "[email]"),
    # mainland mobile numbers, with or without +86 / 0086
    (re.compile(r"(?<!\d)(?:\+?86[ -]?|0086[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?!\d)"), "[phone]"),
)


def scrub(text: str) -> str:
    """``text`` without anything that looks like a credential or personal data."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {
            k: REDACTED if str(k).lower() in SENSITIVE_KEYS else _clean(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def redact(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: sensitive keys lose their value, other strings are scrubbed."""
    for key in list(event_dict):
        if key.lower() in SENSITIVE_KEYS:
            event_dict[key] = REDACTED
        else:
            event_dict[key] = _clean(event_dict[key])
    return event_dict


def add_trace_ids(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: the current span's trace and span ids (none without a span,
    as when traces are off)."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict["trace_id"] = format(context.trace_id, "032x")
        event_dict["span_id"] = format(context.span_id, "016x")
    return event_dict


class ScrubFilter(logging.Filter):
    """The same for standard-library log records (message and arguments)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if (
            record.name.startswith("tortoise")
            and isinstance(record.args, tuple)
            and len(record.args) == 2
        ):
            # Tortoise's DEBUG lines are "<sql>: <parameters>"; the parameters carry
            # password hashes, token hashes and personal data: keep the SQL only.
            record.msg, record.args = "%s: [parameters hidden]", (record.args[0],)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the handler
            return True
        record.msg = scrub(message)
        record.args = None
        return True


def configure_logging(stream: TextIO | None = None) -> None:
    """Configure structlog and the standard library; ``stream`` defaults to stderr."""
    settings = get_settings()
    out = stream or sys.stderr
    level = logging.getLevelNamesMapping().get(settings.log_level.upper(), logging.INFO)
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if settings.log_json
        else structlog.dev.ConsoleRenderer(colors=out.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            add_trace_ids,
            redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        # never cached: a reconfiguration (tests, the worker restarting) applies to every
        # logger, and so does the redaction
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(
        level=level,
        stream=out,
        format="%(levelname)s %(name)s: %(message)s",
        force=stream is not None,
    )
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, ScrubFilter) for f in handler.filters):
            handler.addFilter(ScrubFilter())
    # httpx logs every request's URL at INFO, query string included (some APIs, WeChat's
    # among them, take their access tokens there): its warnings are enough
    logging.getLogger("httpx").setLevel(max(level, logging.WARNING))
    # tortoise says "Tortoise-ORM shutdown" at INFO as every process, and every CLI
    # command, ends: noise on a console, nothing an operator acts on
    logging.getLogger("tortoise").setLevel(max(level, logging.WARNING))
