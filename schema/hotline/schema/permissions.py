"""One helper to declare who may use a field.

``@strawberry.field(permission_classes=[can(Action.X)])``

The decision itself is ``hotline.tenants.kernel.access.allowed``, so GraphQL, REST faces and
workers pass the same checks; this only wires it to Strawberry.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from strawberry.permission import BasePermission

from hotline.schema.context import Info
from hotline.tenants.kernel.access import Action, allowed
from hotline.tenants.kernel.errors import ErrorCode


class _Signed(BasePermission):
    message = "authentication required"
    error_extensions = {"code": ErrorCode.AUTH_FAILED.value}  # noqa: RUF012

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.actor.user_id is not None or info.context.actor.api_key_id is not None


@cache
def can(action: Action) -> type[BasePermission]:
    """A permission class allowing ``action`` in the request's city or province."""

    class _Can(BasePermission):
        message = f"{action.value} is not allowed"
        error_extensions = {"code": ErrorCode.PERMISSION_DENIED.value}  # noqa: RUF012

        def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
            return allowed(info.context.actor, action)

    _Can.__name__ = f"Can_{action.name}"
    return _Can


signed_in = _Signed
