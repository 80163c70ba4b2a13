"""The database wall: row-level security on the app role, composite same-tenant keys."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest
import pytest_asyncio
from tortoise import connections
from tortoise.exceptions import IntegrityError, OperationalError

from hotline.platform.db.config import credentials
from hotline.platform.db.rls import each_alone, rescope_policies
from hotline.platform.settings import Settings
from hotline.platform.tenancy import Scope, TenantNotSet, use_scope
from hotline.tenants.departments.models import Department, DepartmentKind
from hotline.tenants.provinces.models import Province, Tenant


@dataclass
class City:
    tenant: Tenant
    center: Department

    @property
    def scope(self) -> Scope:
        return Scope.city(self.tenant.id, self.tenant.province_id)


async def _city(province: Province, code: str, slug: str) -> City:
    with use_scope(Scope.platform()):
        tenant = await Tenant.create(
            province=province, code=code, slug=slug, name=slug, number_prefix="TT"
        )
    with use_scope(Scope.city(tenant.id, province.id)):
        center = await Department.create(kind=DepartmentKind.CENTER, name="center", path="/")
        center.path = f"/{center.id}/"
        await center.save(update_fields=["path"])
    return City(tenant, center)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def cities(db: Settings) -> AsyncIterator[tuple[City, City, City]]:
    with use_scope(Scope.platform()):
        p1 = await Province.create(code="910000", slug="prov-one", name="One")
        p2 = await Province.create(code="920000", slug="prov-two", name="Two")
    alpha = await _city(p1, "910100", "alpha")
    gamma = await _city(p1, "910200", "gamma")
    beta = await _city(p2, "920100", "beta")
    yield alpha, gamma, beta


async def test_scoped_manager_raises_without_a_city(cities: tuple[City, City, City]) -> None:
    with use_scope(Scope.platform()), pytest.raises(TenantNotSet):
        await Department.all()


async def test_city_scope_sees_only_its_rows(cities: tuple[City, City, City]) -> None:
    alpha, _, beta = cities
    with use_scope(alpha.scope):
        rows = await Department.all()
        # even an explicit filter on another city's id finds nothing
        other = await Department.across_tenants().filter(id=beta.center.id)
    assert {r.tenant_id for r in rows} == {alpha.tenant.id}
    assert other == []


async def test_raw_sql_on_app_role_without_scope_returns_no_rows(
    db: Settings, cities: tuple[City, City, City]
) -> None:
    conn = connections.get("default")
    with use_scope(Scope.platform()):
        rows = await conn.execute_query_dict("SELECT id FROM departments")
    assert rows == []
    # and a plain asyncpg session as the app role, no hook at all, sees nothing either
    raw = await asyncpg.connect(**credentials(db.app_database_url()))
    try:
        assert await raw.fetchval("SELECT count(*) FROM departments") == 0
        assert await raw.fetchval("SELECT current_user") == db.database_app_role
    finally:
        await raw.close()


async def test_province_scope_spans_its_cities_only(cities: tuple[City, City, City]) -> None:
    alpha, gamma, _ = cities
    with use_scope(Scope.province(alpha.tenant.province_id)):
        rows = await Department.across_tenants().all()
    assert {r.tenant_id for r in rows} == {alpha.tenant.id, gamma.tenant.id}


async def test_cannot_write_into_another_city(cities: tuple[City, City, City]) -> None:
    alpha, _, beta = cities
    with use_scope(alpha.scope):
        # stamping refuses a foreign tenant id before SQL …
        with pytest.raises(TenantNotSet):
            await Department.create(
                tenant_id=beta.tenant.id,
                province_id=beta.tenant.province_id,
                kind=DepartmentKind.BUREAU,
                name="x",
                path="/",
            )
        # … and the policy refuses it in SQL even when the ORM is bypassed
        conn = connections.get("default")
        with pytest.raises(OperationalError, match="row-level security"):
            await conn.execute_query(
                "INSERT INTO departments (tenant_id, province_id, kind, name, path, depth, "
                "contacts, duty_hours, is_duty_room, is_active, created_at, updated_at) "
                "VALUES ($1, $2, 'bureau', 'x', '/', 0, '[]', '', false, true, now(), now())",
                [beta.tenant.id, beta.tenant.province_id],
            )


async def test_foreign_keys_stay_inside_the_city(cities: tuple[City, City, City]) -> None:
    """FKs ignore RLS; the composite (tenant_id, parent_id) key does not."""
    alpha, _, beta = cities
    with use_scope(alpha.scope), pytest.raises(IntegrityError):
        await Department.create(
            kind=DepartmentKind.BUREAU, name="smuggled", path="/", parent_id=beta.center.id
        )


async def test_every_policy_tests_the_scope_inside_the_compared_value(db: Settings) -> None:
    """``IN_SCOPE`` (hotline.platform.db.rls): a policy that tests ``app.scope`` beside a
    column, not inside a ``CASE`` the planner folds, makes every read of its table be
    planned for ~1 % of its rows. New tables take ``rescope_policies`` too."""
    owner = await asyncpg.connect(**credentials(db.database_url))
    try:
        rows = await owner.fetch(
            "SELECT tablename, policyname, coalesce(qual, '') || ' ' || coalesce(with_check, '')"
            " AS sql FROM pg_policies WHERE schemaname = 'public'"
        )
    finally:
        await owner.close()
    scope = "current_setting('app.scope'::text, true)"
    beside = [
        f"{r['tablename']}.{r['policyname']}"
        for r in rows
        if r["sql"].count(scope) != r["sql"].count(f"WHEN ({scope}")
    ]
    assert {"tickets_read", "memberships_read"} <= {r["policyname"] for r in rows}
    assert beside == []


async def test_a_city_read_is_planned_for_the_city_rows(
    db: Settings, cities: tuple[City, City, City]
) -> None:
    alpha, gamma, _ = cities
    with use_scope(alpha.scope):
        await Department.bulk_create(
            [Department(kind=DepartmentKind.BUREAU, name=f"b{i}", path="/") for i in range(300)]
        )
    owner = await asyncpg.connect(**credentials(db.database_url))
    try:
        await owner.execute("ANALYZE departments")
    finally:
        await owner.close()
    conn = connections.get("default")
    estimated = []
    for city in (alpha, gamma):
        with use_scope(city.scope):
            plan = await conn.execute_query_dict("EXPLAIN (FORMAT JSON) SELECT id FROM departments")
        estimated.append(json.loads(plan[0]["QUERY PLAN"])[0]["Plan"]["Plan Rows"])
    # 301 and 1 rows; the former shape planned every city at ~1 % of the table (3 rows)
    assert estimated[0] > 150
    assert estimated[1] < 20


async def test_a_statement_alone_gives_up_on_a_lock_held_by_a_serving_query(
    db: Settings,
) -> None:
    """``rls.each_alone``: the lock timeout holds inside the statement's own implicit
    transaction (one simple-protocol query, as a non-atomic migration runs it)."""
    same = rescope_policies("departments")[-1]  # what it already is: nothing changes
    [bounded] = each_alone([same], lock_timeout="50ms")
    serving = await asyncpg.connect(**credentials(db.database_url))
    owner = await asyncpg.connect(**credentials(db.database_url))
    try:
        async with serving.transaction():
            await serving.execute("LOCK TABLE departments IN ACCESS SHARE MODE")
            with pytest.raises(asyncpg.LockNotAvailableError):
                await owner.execute(bounded, timeout=30)
        assert await owner.fetchval("SHOW lock_timeout") == "0"
    finally:
        await serving.close()
        await owner.close()
