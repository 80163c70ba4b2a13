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


# What a person reads, per code, in the locales the platform serves (docs/architecture.md §10).
# ``message`` stays the precise English text for developers and logs.
_TEXTS: dict[ErrorCode, tuple[str, str]] = {
    ErrorCode.NOT_FOUND: ("未找到，或您无权访问", "Not found, or not yours to see"),
    ErrorCode.PERMISSION_DENIED: ("您无权执行此操作", "You may not do this"),
    ErrorCode.INVALID: ("输入有误，请检查", "Please check this input"),
    ErrorCode.CONFLICT: (
        "与当前状态冲突，请刷新后重试",
        "This conflicts with the current state; reload and retry",
    ),
    ErrorCode.AUTH_FAILED: (
        "身份验证失败，请重新登录",
        "Authentication failed; please log in again",
    ),
    ErrorCode.LOCKED: (
        "账户已暂时锁定，请稍后再试",
        "The account is locked for a while; try again later",
    ),
    ErrorCode.RATE_LIMITED: ("操作过于频繁，请稍后再试", "Too many attempts; try again later"),
    ErrorCode.TOTP_REQUIRED: ("请输入动态验证码", "Enter your one-time code"),
    ErrorCode.WEAK_PASSWORD: ("密码强度不足", "The password is too weak"),
}


def localized(code: ErrorCode, field: str | None, locale: str) -> str:
    """The reader's text for ``code`` in ``locale`` (zh-* → Chinese, else English)."""
    zh, en = _TEXTS[code]
    if locale.lower().startswith("zh"):
        return f"{zh}（{field}）" if field else zh
    return f"{en} ({field})" if field else en


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
    """The one answer for "does not exist" and "exists but is not yours"
    (docs/architecture.md §3)."""

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
