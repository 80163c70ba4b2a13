"""Expected failures of the domain, each with a stable code the API shows as-is."""

from __future__ import annotations

import enum


class ErrorCode(enum.StrEnum):
    NOT_FOUND = "NOT_FOUND"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    INVALID = "INVALID"
    CONFLICT = "CONFLICT"
    AUTH_FAILED = "AUTH_FAILED"
    LOCKED = "LOCKED"
    RATE_LIMITED = "RATE_LIMITED"
    TOTP_REQUIRED = "TOTP_REQUIRED"
    WEAK_PASSWORD = "WEAK_PASSWORD"  # noqa: S105 — an error code, not a secret


class DomainError(Exception):
    code: ErrorCode = ErrorCode.INVALID

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    @property
    def extensions(self) -> dict[str, str]:
        """Read by graphql-core when this error escapes a query resolver."""
        data = {"code": self.code.value}
        if self.field:
            data["field"] = self.field
        return data


class NotFound(DomainError):
    """The one answer for "does not exist" and "exists but is not yours" (DESIGN.md §3)."""

    code = ErrorCode.NOT_FOUND

    def __init__(self, what: str = "object", *, field: str | None = None) -> None:
        super().__init__(f"{what} not found", field=field)


class PermissionDenied(DomainError):
    code = ErrorCode.PERMISSION_DENIED

    def __init__(self, message: str = "not allowed", *, field: str | None = None) -> None:
        super().__init__(message, field=field)


class Invalid(DomainError):
    code = ErrorCode.INVALID


class Conflict(DomainError):
    code = ErrorCode.CONFLICT


class AuthFailed(DomainError):
    code = ErrorCode.AUTH_FAILED


class Locked(DomainError):
    code = ErrorCode.LOCKED


class RateLimited(DomainError):
    code = ErrorCode.RATE_LIMITED


class TotpRequired(DomainError):
    code = ErrorCode.TOTP_REQUIRED


class WeakPassword(DomainError):
    code = ErrorCode.WEAK_PASSWORD
