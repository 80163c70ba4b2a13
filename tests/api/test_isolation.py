"""Isolation through the API: nothing of city beta reaches a user of city alpha.

Selecting another city answers 404 exactly like a city that does not exist; another
city's global ids answer exactly like ids that do not exist (NOT_FOUND), and change
nothing — each case re-reads the target as its owner to prove it.

Every foundation field of Query and Mutation must have a case here:
``test_every_foundation_field_has_an_isolation_case`` fails otherwise. To extend:
write a test decorated with ``@isolates("fieldName", ...)`` for each new field (or,
when the field takes no ids and acts only on the caller's own account, add it to
``NO_IDS`` with a comment). Other parts (tickets, knowledge, evidence…) keep their own
isolation suites next to their tests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from strawberry import relay

from hotline.platform.tenancy import Scope, use_scope
from hotline.schema.schema import build_schema
from hotline.tenants.accounts.models import User
from tests import isolation_registry

if TYPE_CHECKING:
    from tests.api.conftest import Gql, Response, World

FOUNDATION_QUERIES = frozenset(
    {
        "me",
        "provinces",
        "tenants",
        "tenant",
        "calendar",
        "calendarDays",
        "departments",
        "department",
        "users",
        "user",
        "memberships",
        "apiKeys",
        "auditEvents",
    }
)
FOUNDATION_MUTATIONS = frozenset(
    {
        "login",
        "refreshToken",
        "logout",
        "changePassword",
        "requestPasswordReset",
        "resetPassword",
        "beginTotpEnrolment",
        "confirmTotp",
        "createUser",
        "adminResetPassword",
        "grantMembership",
        "revokeMembership",
        "grantProvinceAdmin",
        "createApiKey",
        "revokeApiKey",
        "createProvince",
        "setProvinceSla",
        "createTenant",
        "updateTenant",
        "setCalendarDays",
        "createDepartment",
        "updateDepartment",
        "moveDepartment",
        "deactivateDepartment",
    }
)
# Fields that take no id and act only on the caller's own account or credentials.
NO_IDS = {
    "login": "username + password of the caller",
    "refreshToken": "the caller's own refresh token",
    "logout": "the caller's own refresh token",
    "changePassword": "the caller's own password",
    "requestPasswordReset": "answers the same for everyone; the mail goes to the owner",
    "resetPassword": "a signed single-use token from the owner's mail",
    "beginTotpEnrolment": "the caller's own second factor",
    "confirmTotp": "the caller's own second factor",
}

COVERED: set[str] = set()
F = TypeVar("F", bound=Callable[..., Awaitable[None]])


def isolates(*fields: str) -> Callable[[F], F]:
    """Marks a test as the isolation case of these Query/Mutation fields."""

    def mark(test: F) -> F:
        COVERED.update(fields)
        return test

    return mark


def missing(type_name: str) -> str:
    """A well-formed global id of the type that names no row."""
    return str(relay.to_base64(type_name, 987654321))


def problem(result: Response, name: str) -> Any:
    """The refusal of a field: its payload errors, or the request's errors (no data)."""
    data = result.body.get("data") or {}
    payload = data.get(name)
    if isinstance(payload, dict) and "errors" in payload:
        return payload["errors"]
    return [(e["message"], e.get("extensions")) for e in result.errors]


async def same_as_missing(
    gql: Gql,
    query: str,
    name: str,
    variables: dict[str, Any],
    missing_variables: dict[str, Any],
    *,
    token: str,
    tenant: str | None,
    code: str = "NOT_FOUND",
) -> None:
    """Another city's ids get the answer of ids that do not exist, with ``code``."""
    foreign = await gql(query, variables, token=token, tenant=tenant)
    absent = await gql(query, missing_variables, token=token, tenant=tenant)
    assert problem(foreign, name) == problem(absent, name), (foreign.body, absent.body)
    text = repr(problem(foreign, name))
    assert code in text, foreign.body
    isolation_registry.record_same_as_missing(name)


def test_every_foundation_field_has_an_isolation_case() -> None:
    schema = build_schema()._schema
    assert schema.query_type is not None
    assert schema.mutation_type is not None
    queries, mutations = set(schema.query_type.fields), set(schema.mutation_type.fields)
    # the lists must name real fields (a rename must update them)
    assert queries >= FOUNDATION_QUERIES, FOUNDATION_QUERIES - queries
    assert mutations >= FOUNDATION_MUTATIONS, FOUNDATION_MUTATIONS - mutations
    uncovered = (FOUNDATION_QUERIES | FOUNDATION_MUTATIONS) - COVERED - set(NO_IDS)
    assert not uncovered, f"fields without an isolation case: {sorted(uncovered)}"


# --- selecting a city -----------------------------------------------------------------

ME = "{ me { currentTenant { slug } } }"


async def test_another_city_is_not_found_like_a_missing_one(gql: Gql, world: World) -> None:
    token = world.alpha.admin.token
    nowhere = await gql(ME, token=token, tenant="nowhere")
    assert nowhere.status == 404
    assert nowhere.codes == ["NOT_FOUND"]
    for ref in ("beta", "320100"):
        other = await gql(ME, token=token, tenant=ref)
        assert (other.status, other.body) == (404, nowhere.body)
    by_host = await gql(ME, token=token, host="beta.hotline.example")
    assert (by_host.status, by_host.body) == (404, nowhere.body)
    missing_host = await gql(ME, token=token, host="nowhere.hotline.example")
    assert (missing_host.status, missing_host.body) == (404, nowhere.body)
    own = await gql(ME, token=token, host="alpha.hotline.example")
    assert own.ok()["me"]["currentTenant"] == {"slug": "alpha"}


async def test_province_admin_reaches_its_cities_only(gql: Gql, world: World) -> None:
    token = world.shandong_admin.token
    nowhere = await gql(ME, token=token, tenant="nowhere")
    beta = await gql(ME, token=token, tenant="beta")
    assert (beta.status, beta.body) == (404, nowhere.body)
    host = await gql(ME, token=token, host="beta.hotline.example")
    assert (host.status, host.body) == (404, nowhere.body)
    for city in ("alpha", "gamma"):
        assert (await gql(ME, token=token, tenant=city)).ok()["me"]["currentTenant"] == {
            "slug": city
        }


async def test_api_keys_work_in_their_own_city_only(gql: Gql, world: World) -> None:
    query = "{ departments(kind: CENTER) { nodes { id } } }"
    bogus = await gql(query, api_key="hk_000000000000_nothing")
    assert (bogus.status, bogus.codes) == (401, ["AUTH_FAILED"])
    for key, other in ((world.alpha.api_key_secret, "beta"), (world.beta.api_key_secret, "alpha")):
        refused = await gql(query, api_key=key, tenant=other)
        assert (refused.status, refused.body) == (401, bogus.body)
        host = await gql(query, api_key=key, host=f"{other}.hotline.example")
        assert (host.status, host.body) == (401, bogus.body)
    own = await gql(query, api_key=world.alpha.api_key_secret)
    assert own.ok()["departments"]["nodes"] == [{"id": world.alpha.center}]


# --- queries ---------------------------------------------------------------------------


@isolates("me", "provinces", "tenants", "tenant")
async def test_catalog_queries(gql: Gql, world: World) -> None:
    alpha = world.alpha.admin.token
    me = await gql(
        "{ me { memberships { tenant { slug } } provinceAdminOf } }", token=alpha, tenant="alpha"
    )
    assert me.ok()["me"] == {"memberships": [{"tenant": {"slug": "alpha"}}], "provinceAdminOf": []}
    for tenant in ("alpha", None):
        provinces = await gql("{ provinces { code } }", token=alpha, tenant=tenant)
        assert "320000" not in {p["code"] for p in provinces.ok()["provinces"]}
    tenants = await gql("{ tenants { slug } }", token=alpha, tenant="alpha")
    assert tenants.ok()["tenants"] == [{"slug": "alpha"}]
    for token, tenant in ((alpha, "alpha"), (world.shandong_admin.token, None)):
        by_province = await gql(
            "query($p: ID!) { tenants(provinceId: $p) { slug } }",
            {"p": world.jiangsu},
            token=token,
            tenant=tenant,
        )
        assert by_province.ok()["tenants"] == []
        nowhere = await gql(
            "query($p: ID!) { tenants(provinceId: $p) { slug } }",
            {"p": missing("Province")},
            token=token,
            tenant=tenant,
        )
        assert nowhere.ok()["tenants"] == []  # another province's cities: like none
        isolation_registry.record_same_as_missing("tenants")
        for code in ("320100", "beta"):
            await same_as_missing(
                gql,
                "query($c: String!) { tenant(code: $c) { slug } }",
                "tenant",
                {"c": code},
                {"c": "999900"},
                token=token,
                tenant=tenant,
            )


@isolates("calendar", "calendarDays", "setCalendarDays")
async def test_calendars(gql: Gql, world: World) -> None:
    set_days = """mutation($p: ID) { setCalendarDays(provinceId: $p,
        days: [{ day: "2026-12-01", kind: HOLIDAY, name: "beta day" }]) {
        days { day } errors { field code message } } }"""
    (await gql(set_days, {"p": None}, token=world.beta.admin.token, tenant="beta")).ok()
    alpha = world.alpha.admin.token
    probe = '{ calendar { isWorkingDay(date: "2026-12-01") } }'
    assert (await gql(probe, token=alpha, tenant="alpha")).ok()["calendar"]["isWorkingDay"]
    days = await gql("{ calendarDays(year: 2026) { day } }", token=alpha, tenant="alpha")
    assert days.ok()["calendarDays"] == []
    province_days = "query($p: ID!) { calendarDays(year: 2026, provinceId: $p) { day } }"
    shandong = world.shandong_admin.token
    for token, tenant in ((alpha, "alpha"), (shandong, None)):
        await same_as_missing(
            gql,
            province_days,
            "calendarDays",
            {"p": world.jiangsu},
            {"p": missing("Province")},
            token=token,
            tenant=tenant,
        )
    # another province's shared calendar cannot be written, and nothing changes
    await same_as_missing(
        gql,
        set_days,
        "setCalendarDays",
        {"p": world.jiangsu},
        {"p": missing("Province")},
        token=shandong,
        tenant=None,
    )
    jiangsu = await gql(province_days, {"p": world.jiangsu}, token=world.jiangsu_admin.token)
    assert jiangsu.ok()["calendarDays"] == []
    # alpha's admin writing its own city leaves beta's entry as it was
    (await gql(set_days, {"p": None}, token=alpha, tenant="alpha")).ok()
    beta = await gql(
        "{ calendarDays(year: 2026) { day name } }", token=world.beta.admin.token, tenant="beta"
    )
    assert beta.ok()["calendarDays"] == [{"day": "2026-12-01", "name": "beta day"}]


async def _beta_tree(gql: Gql, world: World) -> list[dict[str, Any]]:
    result = await gql(
        "{ departments(includeInactive: true) { nodes { id name isActive depth parent { id } } } }",
        token=world.beta.admin.token,
        tenant="beta",
    )
    return list(result.ok()["departments"]["nodes"])


@isolates("departments", "department")
async def test_department_queries(gql: Gql, world: World) -> None:
    alpha, beta = world.alpha, world.beta
    token = alpha.admin.token
    listed = await gql("{ departments { nodes { id } } }", token=token, tenant="alpha")
    ids = {n["id"] for n in listed.ok()["departments"]["nodes"]}
    assert ids == {alpha.center, *alpha.departments.values()}
    children = await gql(
        "query($p: ID!) { departments(parentId: $p) { nodes { id } } }",
        {"p": beta.center},
        token=token,
        tenant="alpha",
    )
    assert children.ok()["departments"]["nodes"] == []
    for query, name, var in (
        ("query($d: ID!) { departments(rootId: $d) { nodes { id } } }", "departments", "d"),
        ("query($d: ID!) { department(id: $d) { id } }", "department", "d"),
    ):
        await same_as_missing(
            gql,
            query,
            name,
            {var: beta.departments["d1"]},
            {var: missing("Department")},
            token=token,
            tenant="alpha",
        )


@isolates("createDepartment", "updateDepartment", "moveDepartment", "deactivateDepartment")
async def test_department_mutations(gql: Gql, world: World) -> None:
    alpha, beta = world.alpha, world.beta
    before = await _beta_tree(gql, world)
    token = alpha.admin.token
    create = """mutation($p: ID!) { createDepartment(input: { parentId: $p, kind: DISTRICT,
        name: "intruder" }) { department { id } errors { field code message } } }"""
    update = """mutation($d: ID!) { updateDepartment(input: { departmentId: $d,
        name: "renamed" }) { department { id } errors { field code message } } }"""
    move = """mutation($d: ID!, $p: ID!) { moveDepartment(departmentId: $d, newParentId: $p) {
        department { id } errors { field code message } } }"""
    deactivate = """mutation($d: ID!) { deactivateDepartment(departmentId: $d) {
        deactivatedCount errors { field code message } } }"""
    foreign, absent = beta.departments, missing("Department")
    cases: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
        (create, "createDepartment", {"p": beta.center}, {"p": absent}),
        (update, "updateDepartment", {"d": foreign["d1"]}, {"d": absent}),
        (
            move,
            "moveDepartment",
            {"d": foreign["s1"], "p": alpha.departments["d1"]},
            {"d": absent, "p": alpha.departments["d1"]},
        ),
        (
            move,
            "moveDepartment",
            {"d": alpha.departments["s1"], "p": foreign["d1"]},
            {"d": alpha.departments["s1"], "p": absent},
        ),
        (deactivate, "deactivateDepartment", {"d": foreign["d1"]}, {"d": absent}),
    ]
    for query, name, variables, absent_variables in cases:
        await same_as_missing(
            gql, query, name, variables, absent_variables, token=token, tenant="alpha"
        )
    assert await _beta_tree(gql, world) == before
    # alpha's own street did not move either
    street = await gql(
        "query($d: ID!) { department(id: $d) { parent { id } } }",
        {"d": alpha.departments["s1"]},
        token=token,
        tenant="alpha",
    )
    assert street.ok()["department"]["parent"] == {"id": alpha.departments["d1"]}


@isolates("users", "user", "memberships", "auditEvents")
async def test_people_queries(gql: Gql, world: World) -> None:
    alpha, beta = world.alpha, world.beta
    token = alpha.admin.token
    users = await gql("{ users(first: 100) { nodes { username } } }", token=token, tenant="alpha")
    names = {u["username"] for u in users.ok()["users"]["nodes"]}
    assert names == {"alpha_admin@alpha", "alpha_agent@alpha", "alpha_handler@alpha"}
    await same_as_missing(
        gql,
        "query($u: ID!) { user(id: $u) { username } }",
        "user",
        {"u": beta.handler.id},
        {"u": missing("User")},
        token=token,
        tenant="alpha",
    )
    memberships = "query($u: ID!) { memberships(userId: $u) { id } }"
    foreign = await gql(memberships, {"u": beta.handler.id}, token=token, tenant="alpha")
    absent = await gql(memberships, {"u": missing("User")}, token=token, tenant="alpha")
    assert foreign.ok()["memberships"] == absent.ok()["memberships"] == []
    isolation_registry.record_same_as_missing("memberships")
    audit = await gql(
        "{ auditEvents(first: 100) { nodes { action target } } }", token=token, tenant="alpha"
    )
    targets = {e["target"] for e in audit.ok()["auditEvents"]["nodes"]}
    assert "alpha_agent@alpha" in targets
    assert not {t for t in targets if t.startswith("beta") or t == "320100"}


@isolates("createUser", "adminResetPassword")
async def test_user_mutations(gql: Gql, world: World) -> None:
    alpha, beta = world.alpha, world.beta
    token = alpha.admin.token
    create = """mutation($d: ID!, $name: String!) { createUser(input: { username: $name,
        displayName: "X", password: "Correct-Horse-42", role: DEPT_HANDLER, departmentId: $d }) {
        user { id } errors { field code message } } }"""
    foreign = await gql(
        create, {"d": beta.departments["d1"], "name": "sneaky1"}, token=token, tenant="alpha"
    )
    absent = await gql(
        create, {"d": missing("Department"), "name": "sneaky2"}, token=token, tenant="alpha"
    )
    assert problem(foreign, "createUser") == problem(absent, "createUser")
    assert problem(foreign, "createUser")[0]["code"] == "NOT_FOUND"
    with use_scope(Scope.platform()):
        assert not await User.filter(username__startswith="sneaky").exists()
    await same_as_missing(
        gql,
        """mutation($u: ID!) { adminResetPassword(userId: $u, newPassword: "Hijacked-pass-123") {
            ok errors { field code message } } }""",
        "adminResetPassword",
        {"u": beta.handler.id},
        {"u": missing("User")},
        token=token,
        tenant="alpha",
    )
    await gql.login(beta.handler.username)  # the old password still works


async def test_a_name_taken_in_another_city_is_free_here(gql: Gql, world: World) -> None:
    """Usernames live in the city's namespace: beta may name someone like alpha's agent,
    and "taken" only ever speaks of the city's own names (docs/auth.md)."""
    alpha, beta = world.alpha, world.beta
    create = """mutation($name: String!) { createUser(input: { username: $name,
        displayName: "X", password: "Correct-Horse-42", role: AGENT }) {
        user { username } errors { field code message } } }"""
    taken_elsewhere = alpha.agent.username.split("@")[0]
    made = await gql(create, {"name": taken_elsewhere}, token=beta.admin.token, tenant="beta")
    assert made.ok()["createUser"]["user"]["username"] == f"{taken_elsewhere}@beta"
    again = await gql(create, {"name": taken_elsewhere}, token=beta.admin.token, tenant="beta")
    assert problem(again, "createUser") == [
        {"field": "username", "code": "CONFLICT", "message": "a user with this username exists"}
    ]
    # both log in, each unambiguously: the full name, or the bare name in its own city
    await gql.login(f"{taken_elsewhere}@beta")
    beta_access, _ = await gql.login(taken_elsewhere, tenant="beta")
    alpha_access, _ = await gql.login(taken_elsewhere, tenant="alpha")
    me = "{ me { user { username } } }"
    assert (await gql(me, token=beta_access)).ok()["me"]["user"]["username"] == (
        f"{taken_elsewhere}@beta"
    )
    assert (await gql(me, token=alpha_access)).ok()["me"]["user"]["username"] == (
        alpha.agent.username
    )


@isolates("grantMembership", "revokeMembership")
async def test_membership_mutations(gql: Gql, world: World) -> None:
    alpha, beta = world.alpha, world.beta
    token = alpha.admin.token
    grant = """mutation($u: ID!, $d: ID) { grantMembership(userId: $u, role: DEPT_HANDLER,
        departmentId: $d) { membership { id } errors { field code message } } }"""
    # alpha's own user bound to beta's department
    await same_as_missing(
        gql,
        grant,
        "grantMembership",
        {"u": alpha.agent.id, "d": beta.departments["d1"]},
        {"u": alpha.agent.id, "d": missing("Department")},
        token=token,
        tenant="alpha",
    )
    await same_as_missing(
        gql,
        """mutation($m: ID!) { revokeMembership(membershipId: $m) {
            membership { id } errors { field code message } } }""",
        "revokeMembership",
        {"m": beta.handler_membership},
        {"m": missing("Membership")},
        token=token,
        tenant="alpha",
    )
    still = await gql(
        "query($u: ID!) { memberships(userId: $u) { id isActive } }",
        {"u": beta.handler.id},
        token=beta.admin.token,
        tenant="beta",
    )
    assert still.ok()["memberships"] == [{"id": beta.handler_membership, "isActive": True}]
    agent = await gql(
        "query($u: ID!) { memberships(userId: $u) { role } }",
        {"u": alpha.agent.id},
        token=token,
        tenant="alpha",
    )
    assert agent.ok()["memberships"] == [{"role": "AGENT"}]


async def test_grant_membership_to_another_citys_user(gql: Gql, world: World) -> None:
    await same_as_missing(
        gql,
        """mutation($u: ID!) { grantMembership(userId: $u, role: AGENT) {
            membership { id } errors { field code message } } }""",
        "grantMembership",
        {"u": world.beta.agent.id},
        {"u": missing("User")},
        token=world.alpha.admin.token,
        tenant="alpha",
    )


@isolates("grantProvinceAdmin", "createProvince")
async def test_platform_mutations(gql: Gql, world: World) -> None:
    grant = """mutation($u: ID!, $p: ID!) { grantProvinceAdmin(userId: $u, provinceId: $p) {
        ok errors { field code message } } }"""
    for token, tenant in ((world.alpha.admin.token, "alpha"), (world.shandong_admin.token, None)):
        await same_as_missing(
            gql,
            grant,
            "grantProvinceAdmin",
            {"u": world.alpha.admin.id, "p": world.jiangsu},
            {"u": missing("User"), "p": missing("Province")},
            token=token,
            tenant=tenant,
            code="PERMISSION_DENIED",
        )
        created = await gql(
            """mutation { createProvince(input: { code: "410000", slug: "henan", name: "Henan" }) {
                province { id } errors { code } } }""",
            token=token,
            tenant=tenant,
        )
        assert created.data["createProvince"] == {
            "province": None,
            "errors": [{"code": "PERMISSION_DENIED"}],
        }
    me = await gql("{ me { provinceAdminOf } }", token=world.alpha.admin.token)
    assert me.ok()["me"]["provinceAdminOf"] == []
    provinces = await gql("{ provinces { code } }", token=world.operator.token)
    assert "410000" not in {p["code"] for p in provinces.ok()["provinces"]}


@isolates("setProvinceSla", "createTenant", "updateTenant", "updateCitySettings")
async def test_province_and_city_mutations(gql: Gql, world: World) -> None:
    sla = """mutation($p: ID!) { setProvinceSla(provinceId: $p, sla: { replyWorkingDays: 1 }) {
        province { id } errors { field code message } } }"""
    create = """mutation($p: ID!) { createTenant(input: { provinceId: $p, code: "320500",
        slug: "suzhou", name: "Suzhou", numberPrefix: "SZ" }) {
        tenant { id } errors { field code message } } }"""
    update = """mutation($t: ID!) { updateTenant(input: { tenantId: $t, name: "Hijacked",
        slaOverrides: { replyWorkingDays: 1 } }) {
        tenant { id } errors { field code message } } }"""
    settings = """mutation($t: ID!) { updateCitySettings(input: { tenantId: $t,
        revisitSampling: true }) { settings { revisitSampling } errors { field code message } } }"""
    for token, tenant in ((world.shandong_admin.token, None), (world.alpha.admin.token, "alpha")):
        await same_as_missing(
            gql,
            settings,
            "updateCitySettings",
            {"t": world.beta.id},
            {"t": missing("Tenant")},
            token=token,
            tenant=tenant,
        )
        await same_as_missing(
            gql,
            sla,
            "setProvinceSla",
            {"p": world.jiangsu},
            {"p": missing("Province")},
            token=token,
            tenant=tenant,
        )
        await same_as_missing(
            gql,
            create,
            "createTenant",
            {"p": world.jiangsu},
            {"p": missing("Province")},
            token=token,
            tenant=tenant,
        )
        await same_as_missing(
            gql,
            update,
            "updateTenant",
            {"t": world.beta.id},
            {"t": missing("Tenant")},
            token=token,
            tenant=tenant,
        )
    owner = world.jiangsu_admin.token
    beta = await gql(
        "{ provinces { slaDefaults tenants { slug name slaOverrides } } }", token=owner
    )
    assert beta.ok()["provinces"] == [
        {"slaDefaults": {}, "tenants": [{"slug": "beta", "name": "Beta", "slaOverrides": {}}]}
    ]


@isolates("apiKeys", "createApiKey", "revokeApiKey")
async def test_api_key_management(gql: Gql, world: World) -> None:
    alpha, beta = world.alpha, world.beta
    token = alpha.admin.token
    created = await gql(
        """mutation { createApiKey(name: "alpha only", roles: [AGENT]) { apiKey { id }
            errors { code } } }""",
        token=token,
        tenant="alpha",
    )
    new_key = created.ok()["createApiKey"]["apiKey"]["id"]
    listed = await gql("{ apiKeys { id } }", token=token, tenant="alpha")
    assert {k["id"] for k in listed.ok()["apiKeys"]} == {alpha.api_key, new_key}
    await same_as_missing(
        gql,
        """mutation($k: ID!) { revokeApiKey(apiKeyId: $k) { apiKey { id }
            errors { field code message } } }""",
        "revokeApiKey",
        {"k": beta.api_key},
        {"k": missing("ApiKey")},
        token=token,
        tenant="alpha",
    )
    beta_keys = await gql("{ apiKeys { id revokedAt } }", token=beta.admin.token, tenant="beta")
    assert beta_keys.ok()["apiKeys"] == [{"id": beta.api_key, "revokedAt": None}]
    works = await gql("{ me { currentTenant { slug } } }", api_key=beta.api_key_secret)
    assert works.ok()["me"]["currentTenant"] == {"slug": "beta"}
