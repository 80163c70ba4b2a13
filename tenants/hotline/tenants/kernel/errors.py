"""Expected failures of the domain, each with a stable code the API shows as-is."""

from __future__ import annotations

import enum
from typing import Any

from hotline.tenants.kernel.messages import MESSAGES_ZH, TERMS_ZH


class ErrorCode(enum.StrEnum):
    NOT_FOUND = "NOT_FOUND"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    INVALID = "INVALID"
    CONFLICT = "CONFLICT"
    AUTH_FAILED = "AUTH_FAILED"
    LOCKED = "LOCKED"
    RATE_LIMITED = "RATE_LIMITED"
    TOTP_REQUIRED = "TOTP_REQUIRED"
    TOTP_ENROLMENT_REQUIRED = "TOTP_ENROLMENT_REQUIRED"
    WEAK_PASSWORD = "WEAK_PASSWORD"  # noqa: S105 — an error code, not a secret


# What a person reads when no better text exists, per code (docs/architecture.md §10).
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
    ErrorCode.TOTP_ENROLMENT_REQUIRED: (
        "管理员须先绑定动态验证码（TOTP）",
        "Administrators must enrol a one-time-code app first",
    ),
    ErrorCode.WEAK_PASSWORD: ("密码强度不足", "The password is too weak"),
}


def _render(template: str, params: dict[str, Any], *, zh: bool) -> str:
    if not params:
        return template
    values: dict[str, Any] = {}
    for name, value in params.items():
        items = list(value) if isinstance(value, list | tuple | set | frozenset) else None
        if items is not None:
            words = [TERMS_ZH.get(str(i), str(i)) if zh else str(i) for i in items]
            values[name] = ("、" if zh else "; ").join(words)
        elif zh and isinstance(value, str):
            values[name] = TERMS_ZH.get(value, value)
        else:
            values[name] = value
    return template.format(**values)


def localized(
    code: ErrorCode,
    locale: str,
    *,
    template: str | None = None,
    params: dict[str, Any] | None = None,
    field: str | None = None,
) -> str:
    """The reader's text (zh-* → Chinese, else English): the error's own message from
    the catalogue (``hotline.tenants.kernel.messages``) with its parameters, or the code's
    generic text when the message has none."""
    zh_generic, en_generic = _TEXTS[code]
    zh = locale.lower().startswith("zh")
    if template is None:
        generic = zh_generic if zh else en_generic
        if not field:
            return generic
        return f"{generic}（{field}）" if zh else f"{generic} ({field})"
    if not zh:
        text = _render(template, params or {}, zh=False)
        first = text.split(" ", 1)[0]
        # a sentence for the reader; identifiers (ticket.read, sha256) stay as they are
        return text[:1].upper() + text[1:] if first.isalpha() and first.islower() else text
    chinese = MESSAGES_ZH.get(template)
    if chinese is None:  # a message nobody translated yet: say what kind, keep the detail
        return f"{zh_generic}：{_render(template, params or {}, zh=False)}"
    return _render(chinese, params or {}, zh=True)


class DomainError(Exception):
    """An expected failure. ``message`` is an English template from the catalogue
    (``hotline.tenants.kernel.messages``), its ``{placeholders}`` filled from ``params``::

        raise Invalid("a title has 1 to {max} characters", field="title", max=MAX_TITLE)

    ``.message`` is the filled English text (developers, logs); ``localized`` gives the
    reader's language.
    """

    code: ErrorCode = ErrorCode.INVALID

    def __init__(self, message: str, *, field: str | None = None, **params: Any) -> None:
        self.template = message
        self.params = params
        self.message = _render(message, params, zh=False)
        super().__init__(self.message)
        self.field = field

    def localized(self, locale: str) -> str:
        return localized(
            self.code, locale, template=self.template, params=self.params, field=self.field
        )

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
        super().__init__("{what} not found", field=field, what=what)


class PermissionDenied(DomainError):
    code = ErrorCode.PERMISSION_DENIED

    def __init__(
        self, message: str = "not allowed", *, field: str | None = None, **params: Any
    ) -> None:
        super().__init__(message, field=field, **params)


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


class TotpEnrolmentRequired(DomainError):
    code = ErrorCode.TOTP_ENROLMENT_REQUIRED


class WeakPassword(DomainError):
    code = ErrorCode.WEAK_PASSWORD
