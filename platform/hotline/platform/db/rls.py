"""SQL for row-level security and same-tenant foreign keys, used by migrations.

Tortoise's autodetector does not track policies or composite constraints, so each
migration that creates a tenant table adds these through ``RunSQL``.

Frozen by contract: migrations call these (the one import a migration may make), so
what they return for given arguments is history and never changes; a new policy shape is
a new function (tests/architecture/test_migrations_match_models.py).

Two shapes, the same rows. The first, ``CITY_OR_PROVINCE``, tests the scope beside the
column: ``(scope = 'city' AND tenant_id = T) OR (scope = 'province' AND province_id =
P)``. PostgreSQL cannot estimate ``scope = 'city'`` (no column in it: 0.5 %), so every
city read was planned for 0.5-1 % of the table, whatever the city's share of it. The second,
``IN_SCOPE``, moves the scope into the compared value: ``tenant_id = CASE WHEN scope =
'city' THEN T END OR province_id = CASE WHEN scope = 'province' THEN P END``. The
planner evaluates the settings when it estimates, so it sees ``tenant_id = 7 OR
province_id = NULL`` and uses the column's statistics; at run time the unset side is
NULL and admits nothing, exactly as before. A new table takes
``enable_tenant_rls`` and then ``rescope_policies`` in the same migration; the tables
made with the first shape were moved to the second by each app's
``*_estimable_policies`` migration (tests/tenancy/test_rls.py holds every policy to it).
"""

from __future__ import annotations

from collections.abc import Iterable

_SCOPE = "current_setting('app.scope', true)"
_TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::bigint"
_PROVINCE = "NULLIF(current_setting('app.province_id', true), '')::bigint"
_USER = "NULLIF(current_setting('app.user_id', true), '')::bigint"

CITY_OR_PROVINCE = (
    f"(({_SCOPE} = 'city' AND tenant_id = {_TENANT})"
    f" OR ({_SCOPE} = 'province' AND province_id = {_PROVINCE}))"
)


_CITY_TENANT = f"CASE WHEN {_SCOPE} = 'city' THEN {_TENANT} END"
_SCOPE_PROVINCE = f"CASE WHEN {_SCOPE} = 'province' THEN {_PROVINCE} END"

IN_SCOPE = f"(tenant_id = {_CITY_TENANT} OR province_id = {_SCOPE_PROVINCE})"
"""``CITY_OR_PROVINCE``'s rows in a shape the planner can estimate (module docstring)."""

IN_SCOPE_PROVINCE = f"(province_id = {_SCOPE_PROVINCE})"
"""Rows of the province in province scope only (province-wide tables it alone writes)."""

IN_ANY_SCOPE_PROVINCE = (
    f"(province_id = CASE WHEN {_SCOPE} IN ('city', 'province') THEN {_PROVINCE} END)"
)
"""Rows of the province, read by its cities and by the province."""


def own_user_rows(column: str = "user_id") -> str:
    """Lets a user read their own rows in any city (memberships for ``me``)."""
    return f"{column} = {_USER}"


def province_shared_rows() -> str:
    """Rows with no tenant are shared by every city of their province (read only)."""
    return f"(tenant_id IS NULL AND province_id = {_PROVINCE})"


def scope_shared_rows() -> str:
    """The province's shared rows (no tenant), in province scope only: for writing them."""
    return f"(tenant_id IS NULL AND province_id = {_SCOPE_PROVINCE})"


def enable_tenant_rls(table: str, *, extra_read: str | None = None) -> list[str]:
    """Unique (tenant_id, id), FORCE row-level security and the scope policies."""
    read = CITY_OR_PROVINCE if extra_read is None else f"({CITY_OR_PROVINCE} OR {extra_read})"
    return [
        f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_tenant_id_id_key" UNIQUE (tenant_id, id)',
        f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY',
        f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY',
        f'CREATE POLICY "{table}_read" ON "{table}" FOR SELECT USING {read}',
        f'CREATE POLICY "{table}_insert" ON "{table}" FOR INSERT WITH CHECK {CITY_OR_PROVINCE}',
        f'CREATE POLICY "{table}_update" ON "{table}" FOR UPDATE USING {CITY_OR_PROVINCE}'
        f" WITH CHECK {CITY_OR_PROVINCE}",
        f'CREATE POLICY "{table}_delete" ON "{table}" FOR DELETE USING {CITY_OR_PROVINCE}',
    ]


def same_tenant_fk(table: str, column: str, target: str, *, on_delete: str = "RESTRICT") -> str:
    """A composite FK so a row can only point at a row of its own city (FKs ignore RLS)."""
    return (
        f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_{column}_same_tenant" '
        f'FOREIGN KEY (tenant_id, "{column}") REFERENCES "{target}" (tenant_id, id) '
        f"ON DELETE {on_delete}"
    )


def rescope_policies(table: str, *, extra_read: str | None = None) -> list[str]:
    """Move the four policies ``enable_tenant_rls`` made (same ``extra_read``) to
    ``IN_SCOPE``: the same rows, estimable (module docstring). No row is rewritten."""
    read = IN_SCOPE if extra_read is None else f"({IN_SCOPE} OR {extra_read})"
    return [
        f'ALTER POLICY "{table}_read" ON "{table}" USING {read}',
        f'ALTER POLICY "{table}_insert" ON "{table}" WITH CHECK {IN_SCOPE}',
        f'ALTER POLICY "{table}_update" ON "{table}" USING {IN_SCOPE} WITH CHECK {IN_SCOPE}',
        f'ALTER POLICY "{table}_delete" ON "{table}" USING {IN_SCOPE}',
    ]


def rescope_shared_policies(table: str) -> list[str]:
    """Move a table of city rows and province-shared rows (no tenant) to ``IN_SCOPE``: its
    ``_read`` policy admits the shared rows to the cities too, its ``_write`` policy (all
    commands) lets the province alone write them."""
    write = f"({IN_SCOPE} OR {scope_shared_rows()})"
    return [
        f'ALTER POLICY "{table}_read" ON "{table}" USING ({IN_SCOPE} OR {province_shared_rows()})',
        f'ALTER POLICY "{table}_write" ON "{table}" USING {write} WITH CHECK {write}',
    ]


def each_alone(statements: Iterable[str], *, lock_timeout: str = "5s") -> list[str]:
    """Each statement as one query of its own — its own (implicit) transaction — that waits
    at most ``lock_timeout`` for its locks: for a non-atomic migration altering tables the
    serving release uses. A lock is then held for one statement, not to the end of the
    migration, and a long query of the serving release makes the statement fail instead
    of queueing every request behind its waiting lock for longer than that."""
    return [f"SET LOCAL lock_timeout = '{lock_timeout}'; {sql}" for sql in statements]
