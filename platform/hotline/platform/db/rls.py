"""SQL for row-level security and same-tenant foreign keys, used by migrations.

Tortoise's autodetector does not track policies or composite constraints, so each
migration that creates a tenant table adds these through ``RunSQL``.

Frozen by contract: migrations call these (the one import a migration may make), so
what they return for given arguments is history and never changes; a new policy shape is
a new function (tests/architecture/test_migrations_match_models.py).
"""

from __future__ import annotations

_SCOPE = "current_setting('app.scope', true)"
_TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::bigint"
_PROVINCE = "NULLIF(current_setting('app.province_id', true), '')::bigint"
_USER = "NULLIF(current_setting('app.user_id', true), '')::bigint"

CITY_OR_PROVINCE = (
    f"(({_SCOPE} = 'city' AND tenant_id = {_TENANT})"
    f" OR ({_SCOPE} = 'province' AND province_id = {_PROVINCE}))"
)


def own_user_rows(column: str = "user_id") -> str:
    """Lets a user read their own rows in any city (memberships for ``me``)."""
    return f"{column} = {_USER}"


def province_shared_rows() -> str:
    """Rows with no tenant are shared by every city of their province (read only)."""
    return f"(tenant_id IS NULL AND province_id = {_PROVINCE})"


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
