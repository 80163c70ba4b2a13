"""The tenant scope of the current task: the one chokepoint every layer reads.

The scope is set by the request middleware (API), by a job's preamble (workers) or
by a CLI command, and read by the scoped model manager and by the connection hook
that sets PostgreSQL's row-level-security variables on every acquire.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


class ScopeKind(enum.StrEnum):
    CITY = "city"
    PROVINCE = "province"
    # Platform work that touches no tenant rows (creating provinces, logging in).
    PLATFORM = "platform"


class TenantNotSet(RuntimeError):
    """A tenant-owned table was queried with no city scope set: a bug, never user input."""


@dataclass(frozen=True, slots=True)
class Scope:
    kind: ScopeKind
    province_id: int | None = None
    tenant_id: int | None = None
    user_id: int | None = None

    @classmethod
    def city(cls, tenant_id: int, province_id: int, user_id: int | None = None) -> Scope:
        return cls(ScopeKind.CITY, province_id=province_id, tenant_id=tenant_id, user_id=user_id)

    @classmethod
    def province(cls, province_id: int, user_id: int | None = None) -> Scope:
        return cls(ScopeKind.PROVINCE, province_id=province_id, user_id=user_id)

    @classmethod
    def platform(cls, user_id: int | None = None) -> Scope:
        return cls(ScopeKind.PLATFORM, user_id=user_id)


NO_SCOPE = Scope(ScopeKind.PLATFORM)

_scope: ContextVar[Scope] = ContextVar("hotline_scope", default=NO_SCOPE)


def current_scope() -> Scope:
    return _scope.get()


def current_tenant_id() -> int:
    """The city of the current scope; raises when the code runs outside one."""
    scope = _scope.get()
    if scope.kind is not ScopeKind.CITY or scope.tenant_id is None:
        raise TenantNotSet("no city scope is set for this task")
    return scope.tenant_id


@contextmanager
def use_scope(scope: Scope) -> Iterator[Scope]:
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)


def set_scope(scope: Scope) -> None:
    """Set the scope for the rest of the current task (middleware, job preamble)."""
    _scope.set(scope)


def rls_settings_sql(scope: Scope) -> str:
    """One statement that sets the row-level-security variables for ``scope``.

    Values are integers or an enum, formatted by us, so inlining them is safe and
    keeps it to one round trip on every connection acquire (docs/architecture.md §9).
    """

    def num(value: int | None) -> str:
        return "''" if value is None else f"'{int(value)}'"

    return (
        "SELECT set_config('app.scope', "
        f"'{scope.kind.value}', false), "
        f"set_config('app.province_id', {num(scope.province_id)}, false), "
        f"set_config('app.tenant_id', {num(scope.tenant_id)}, false), "
        f"set_config('app.user_id', {num(scope.user_id)}, false)"
    )


def rls_local_sql(scope: Scope) -> str:
    """The row-level-security variables for ``scope`` as ``SET LOCAL`` statements: they
    end with the current transaction, so nothing is left on the server connection (a
    transaction-pooling PgBouncer, docs/operations.md "PgBouncer"). ``SET`` takes no
    snapshot, so a transaction may still choose its isolation level afterwards."""

    def num(value: int | None) -> str:
        return "''" if value is None else f"'{int(value)}'"

    return (
        f"SET LOCAL app.scope = '{scope.kind.value}'; "
        f"SET LOCAL app.province_id = {num(scope.province_id)}; "
        f"SET LOCAL app.tenant_id = {num(scope.tenant_id)}; "
        f"SET LOCAL app.user_id = {num(scope.user_id)}"
    )
