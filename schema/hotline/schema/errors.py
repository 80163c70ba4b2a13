"""Error payloads: expected failures are data (``errors: [Error!]!``), never exceptions."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg.exceptions as pg
import strawberry
import structlog
from graphql import GraphQLError
from strawberry.extensions import MaskErrors
from strawberry.types import ExecutionContext
from strawberry.utils.logging import StrawberryLogger
from tortoise.exceptions import ValidationError

from hotline.platform.faults import is_transient
from hotline.platform.observability.metrics import GRAPHQL_ERRORS
from hotline.schema.context import Info
from hotline.tenants.kernel.errors import DomainError, Invalid, localized
from hotline.tenants.kernel.errors import ErrorCode as DomainErrorCode

ErrorCode = DomainErrorCode
strawberry.enum(DomainErrorCode, name="ErrorCode")
log = structlog.get_logger(__name__)


@strawberry.type(description="An expected failure: which input, what kind, and why.")
class Error:
    field: str | None
    code: ErrorCode
    message: str = strawberry.field(description="Precise English text for developers and logs.")
    template: strawberry.Private[str | None] = None
    params: strawberry.Private[dict[str, Any] | None] = None

    @strawberry.field(
        description="Why, for the person: zh-CN or en by the request's Accept-Language."
    )
    def localized_message(self, info: Info) -> str:
        language = info.context.request.headers.get("accept-language", "zh-CN")
        return localized(
            DomainErrorCode(self.code),
            language,
            template=self.template,
            params=self.params,
            field=self.field,
        )


def error_from(exc: DomainError) -> Error:
    GRAPHQL_ERRORS.labels(str(getattr(exc.code, "value", exc.code)), "payload").inc()
    return Error(
        field=exc.field,
        code=exc.code,
        message=exc.message,
        template=exc.template,
        params=exc.params,
    )


T = TypeVar("T")


async def payload_errors(call: Callable[[], Awaitable[T]]) -> tuple[T | None, list[Error]]:
    """Run a service call; a domain error becomes the payload's ``errors`` list."""
    try:
        return await call(), []
    except DomainError as exc:
        return None, [error_from(exc)]


#: The client's own mistakes (a typed domain error, a permission class's refusal, a query
#: that does not validate) are logged here at INFO, one line, no traceback; anything else
#: stays an ERROR of ``strawberry.execution`` with its traceback.
expected_errors = logging.getLogger("hotline.graphql.expected")


def is_expected(error: GraphQLError) -> bool:
    """An answer we meant to give (see :func:`_should_mask`), not a fault of ours."""
    return not _should_mask(error)


class HotlineSchema(strawberry.Schema):
    """The strawberry schema, with expected errors kept out of the ERROR log."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            if not is_expected(error):
                StrawberryLogger.error(error, execution_context)
                continue
            original = error.original_error
            code = (
                str(getattr(original.code, "value", original.code))
                if isinstance(original, DomainError)
                else (error.extensions or {}).get("code", "GRAPHQL_VALIDATION")
            )
            # "code=" would be scrubbed as an OAuth code by the log filter: the code
            # goes first, bare
            expected_errors.info(
                "graphql.expected_error %s path=%s message=%s",
                code,
                ".".join(str(p) for p in error.path or ()) or "-",
                error.message,
            )


def _should_mask(error: GraphQLError) -> bool:
    original = error.original_error
    if original is None:
        return False  # syntax and validation errors speak about the query, not our data
    # GraphQLError originals are deliberate answers too: the permission classes' refusals.
    return not isinstance(original, DomainError | GraphQLError)


UNAVAILABLE_MESSAGE = "A service the platform depends on is unavailable; try again shortly."
_VALUE_REFUSED = Invalid("a value is too long, out of range or malformed for where it goes")


def _refused_value(exc: BaseException) -> bool:
    """A value the store refused (a filter value longer than its column, PostgreSQL's
    data exceptions, class 22): the input was wrong, not the platform."""
    current: BaseException | None = exc
    while current is not None:
        if isinstance(current, ValidationError | pg.DataError):
            return True
        current = current.__cause__
    return False


class _MaskErrors(MaskErrors):
    """Masks unexpected errors; a transient outage (Redis, PostgreSQL, S3 unreachable:
    ``hotline.platform.faults``) is answered as such — code ``UNAVAILABLE`` and HTTP
    503 — so clients retry instead of reporting a bug. A domain error escaping a
    resolver also carries its reader's text as ``extensions.localizedMessage``."""

    def _language(self) -> str:
        request = getattr(self.execution_context.context, "request", None)
        headers = getattr(request, "headers", None)
        return str(headers.get("accept-language", "zh-CN")) if headers is not None else "zh-CN"

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        processed = super()._process_errors(errors)
        language: str | None = None
        for error in processed:
            if isinstance(error.original_error, DomainError):
                language = language or self._language()
                error.extensions = {
                    **(error.extensions or {}),
                    "localizedMessage": error.original_error.localized(language),
                }
        return processed

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if original is not None and _refused_value(original):
            # a safety net: each case found is also fixed where it happens (a field named)
            log.warning("request.value_refused", error=type(original).__name__)
            return GraphQLError(
                message=_VALUE_REFUSED.message,
                nodes=error.nodes,
                source=error.source,
                positions=error.positions,
                path=error.path,
                original_error=None,
                extensions={
                    **_VALUE_REFUSED.extensions,
                    "localizedMessage": _VALUE_REFUSED.localized(self._language()),
                },
            )
        if original is None or not is_transient(original):
            return super().anonymise_error(error)
        log.warning("request.unavailable", error=type(original).__name__, detail=str(original))
        context = getattr(self.execution_context, "context", None)
        response = getattr(context, "response", None)
        if response is not None:
            response.status_code = 503
            response.headers["Retry-After"] = "5"
        return GraphQLError(
            message=UNAVAILABLE_MESSAGE,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=None,
            extensions={"code": "UNAVAILABLE"},
        )


def masking_extension() -> MaskErrors:
    """Anything but a domain error reaches the client as "Unexpected error." (logged),
    or, for a transient outage, as ``UNAVAILABLE`` with HTTP 503."""
    return _MaskErrors(should_mask_error=_should_mask, error_message="Unexpected error.")
