"""The foundation's user story (issue 3), step by step through the GraphQL API.

A province admin logs in, lists the province's cities, creates a third city, sets its
calendar and SLA, builds a department tree, adds people with roles and an API key; and
the account features around it: TOTP, refresh rotation, logout, password reset by mail.
Tests run in file order and build on the city "jining" created by the first ones.
"""

from __future__ import annotations

import asyncio
import email
import re
import socket
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import TYPE_CHECKING, Any

import pyotp
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import Envelope, Session

from hotline.platform.settings import reset_settings

if TYPE_CHECKING:
    from tests.api.conftest import Gql, Person, World

CITY = "jining"
ERRORS = "errors { field code message }"
_people: dict[str, Person] = {}
_ids: dict[str, str] = {}


async def _admin(gql: Gql, world: World) -> Person:
    """Jining's tenant admin, created on first use by the province admin."""
    if "admin" not in _people:
        _people["admin"] = await gql.new_user(
            "jining_admin", token=world.shandong_admin.token, tenant=CITY, role="TENANT_ADMIN"
        )
    return _people["admin"]


async def test_login_and_the_provinces_cities(gql: Gql, world: World) -> None:
    result = await gql(
        """mutation { login(username: "shandong_admin", password: "Correct-Horse-42") {
             tokens { accessToken totpEnrolmentRequired expiresIn } errors { code } } }"""
    )
    tokens = result.ok()["login"]["tokens"]
    # an admin without a second factor may log in, and is asked to enrol
    assert tokens["totpEnrolmentRequired"] is True
    assert tokens["expiresIn"] == 15 * 60
    listing = await gql(
        "{ provinces { id code tenants { code slug } } }", token=tokens["accessToken"]
    )
    provinces = listing.ok()["provinces"]
    assert [(p["id"], p["code"]) for p in provinces] == [(world.shandong, "370000")]
    assert [t["slug"] for t in provinces[0]["tenants"]] == ["alpha", "gamma"]
    cities = await gql("{ tenants { code } }", token=tokens["accessToken"])
    assert [t["code"] for t in cities.ok()["tenants"]] == ["370100", "370200"]
    # the platform operator sees every province
    everything = await gql("{ provinces { code } }", token=world.operator.token)
    assert [p["code"] for p in everything.ok()["provinces"]] == ["320000", "370000"]
    # a wrong password is an error payload, not an exception
    wrong = await gql(
        'mutation { login(username: "shandong_admin", password: "nope") { tokens { accessToken } '
        + ERRORS
        + " } }"
    )
    assert wrong.data["login"] == {
        "tokens": None,
        "errors": [{"field": None, "code": "AUTH_FAILED", "message": "wrong username or password"}],
    }


async def test_create_a_third_city_with_sla_inheritance(gql: Gql, world: World) -> None:
    admin = world.shandong_admin.token
    province_sla = await gql(
        """mutation($p: ID!) { setProvinceSla(provinceId: $p,
             sla: { replyWorkingDays: 5, signForWorkingHours: 4 }) {
             province { slaDefaults } errors { code } } }""",
        {"p": world.shandong},
        token=admin,
    )
    assert province_sla.ok()["setProvinceSla"]["province"]["slaDefaults"] == {
        "reply_working_days": 5,
        "sign_for_working_hours": 4.0,
    }
    created = await gql(
        """mutation($input: CreateTenantInput!) { createTenant(input: $input) {
             tenant { id code slug name numberPrefix timezone locales
                      sla { replyWorkingDays signForWorkingHours maxTotalWorkingDays } }
             errors { field code message } } }""",
        {
            "input": {
                "provinceId": world.shandong,
                "code": "370800",
                "slug": CITY,
                "name": "济宁市",
                "numberPrefix": "JNG",
            }
        },
        token=admin,
    )
    tenant = created.ok()["createTenant"]["tenant"]
    assert tenant["locales"] == ["zh-CN", "en"]
    assert tenant["timezone"] == "Asia/Shanghai"
    # platform → province: reply 5 and sign-for 4 from Shandong, the 30-day cap from the platform
    assert tenant["sla"] == {
        "replyWorkingDays": 5,
        "signForWorkingHours": 4.0,
        "maxTotalWorkingDays": 30,
    }
    _ids["tenant"] = tenant["id"]
    updated = await gql(
        """mutation($id: ID!) { updateTenant(input: { tenantId: $id,
             slaOverrides: { replyWorkingDays: 3 }, features: { business: true } }) {
             tenant { slaOverrides features
                      sla { replyWorkingDays signForWorkingHours maxTotalWorkingDays } }
             errors { code } } }""",
        {"id": tenant["id"]},
        token=admin,
    )
    city = updated.ok()["updateTenant"]["tenant"]
    assert city["slaOverrides"] == {"reply_working_days": 3}
    assert city["features"] == {"business": True}
    # → city: its own reply days, the province's sign-for hours, the platform's cap
    assert city["sla"] == {
        "replyWorkingDays": 3,
        "signForWorkingHours": 4.0,
        "maxTotalWorkingDays": 30,
    }
    by_code = await gql('{ tenant(code: "370800") { slug province { code } } }', token=admin)
    assert by_code.ok()["tenant"] == {"slug": CITY, "province": {"code": "370000"}}


async def test_calendar_of_the_new_city(gql: Gql, world: World) -> None:
    admin = await _admin(gql, world)
    days = await gql(
        """mutation { setCalendarDays(days: [
             { day: "2026-12-01", kind: HOLIDAY, name: "城市纪念日" },
             { day: "2026-12-05", kind: WORKDAY, name: "调休上班" } ]) {
             days { day kind name cityOverride } errors { code message } } }""",
        token=admin.token,
        tenant=CITY,
    )
    assert days.ok()["setCalendarDays"]["days"] == [
        {"day": "2026-12-01", "kind": "HOLIDAY", "name": "城市纪念日", "cityOverride": True},
        {"day": "2026-12-05", "kind": "WORKDAY", "name": "调休上班", "cityOverride": True},
    ]
    # Default hours: Mon–Fri 09:00–12:00 and 13:00–17:00 (7 h a day); Shandong has no
    # dated entries in this world. Tue 1 Dec 2026 is the city's holiday, Sat 5 Dec a
    # make-up workday working Monday's hours.
    answer = await gql(
        """{ calendar { timezone
             tue: isWorkingDay(date: "2026-12-01")
             wed: isWorkingDay(date: "2026-12-02")
             sat: isWorkingDay(date: "2026-12-05")
             sun: isWorkingDay(date: "2026-12-06")
             days: addWorkingDays(start: "2026-11-30T10:00:00+08:00", days: 7)
             hours: addWorkingHours(start: "2026-11-30T16:00:00+08:00", hours: 2)
             saturday: addWorkingHours(start: "2026-12-04T16:00:00+08:00", hours: 3)
             between: workingHoursBetween(start: "2026-11-30T09:00:00+08:00",
                                          end: "2026-12-07T09:00:00+08:00") } }""",
        token=admin.token,
        tenant=CITY,
    )
    cal = answer.ok()["calendar"]
    assert cal["timezone"] == "Asia/Shanghai"
    assert (cal["tue"], cal["wed"], cal["sat"], cal["sun"]) == (False, True, True, False)
    # 7 working days after Mon 30 Nov (not counted): Wed 2, Thu 3, Fri 4, Sat 5 (make-up),
    # Mon 7, Tue 8, Wed 9 → the end of Wed 9 Dec.
    assert cal["days"] == "2026-12-09T17:00:00+08:00"
    # 2 h from Mon 30 Nov 16:00: 1 h on Monday, Tuesday is a holiday, 1 h on Wednesday.
    assert cal["hours"] == "2026-12-02T10:00:00+08:00"
    # 3 h from Fri 4 Dec 16:00: 1 h on Friday, then 2 h of the make-up Saturday.
    assert cal["saturday"] == "2026-12-05T11:00:00+08:00"
    # Mon 30 Nov 09:00 → Mon 7 Dec 09:00: Mon 7 + Tue 0 + Wed–Fri 3 × 7 + Sat 7 + Sun 0.
    assert cal["between"] == 35.0
    listed = await gql(
        "{ calendarDays(year: 2026) { day kind cityOverride } }", token=admin.token, tenant=CITY
    )
    assert [d["day"] for d in listed.ok()["calendarDays"]] == ["2026-12-01", "2026-12-05"]
    # INHERIT removes the city's entry: Tuesday works again
    await gql(
        'mutation { setCalendarDays(days: [{ day: "2026-12-01", kind: INHERIT }]) { '
        + ERRORS
        + " } }",
        token=admin.token,
        tenant=CITY,
    )
    again = await gql(
        '{ calendar { isWorkingDay(date: "2026-12-01") } }', token=admin.token, tenant=CITY
    )
    assert again.ok()["calendar"]["isWorkingDay"] is True


TREE = """query($root: ID, $inactive: Boolean!) {
  departments(rootId: $root, includeInactive: $inactive, first: 100) {
    nodes { id name depth isActive parent { id } } } }"""


async def _tree(gql: Gql, admin: Person, root: str, inactive: bool = False) -> dict[str, Any]:
    result = await gql(TREE, {"root": root, "inactive": inactive}, token=admin.token, tenant=CITY)
    return {n["name"]: n for n in result.ok()["departments"]["nodes"]}


async def test_department_tree_move_deactivate_search(gql: Gql, world: World) -> None:
    admin = await _admin(gql, world)
    token = admin.token
    centers = await gql(
        "{ departments(kind: CENTER) { nodes { id name depth } } }", token=token, tenant=CITY
    )
    [center] = centers.ok()["departments"]["nodes"]
    assert center["name"] == "济宁市12345热线中心"
    assert center["depth"] == 0

    async def add(parent: str, kind: str, name: str, code: str | None = None) -> str:
        return await gql.new_department(token, CITY, parent, kind, name, code)

    rencheng = await add(center["id"], "DISTRICT", "任城区", "rencheng")
    yanzhou = await add(center["id"], "DISTRICT", "兖州区", "yanzhou")
    street = await add(rencheng, "STREET", "古槐街道", "guhuai")
    await add(street, "COMMUNITY", "南池社区", "nanchi")
    urban = await add(center["id"], "BUREAU", "济宁市城市管理局", "urban")
    await add(urban, "BUREAU", "市容环卫处", "sanitation")
    other = await add(center["id"], "BUREAU", "济宁市住房和城乡建设局", "housing")
    _ids["rencheng"] = rencheng
    # a kind that cannot sit under its parent is refused, on parentId
    wrong = await gql(
        """mutation($p: ID!) { createDepartment(input: { parentId: $p, kind: COMMUNITY,
             name: "x" }) { department { id } errors { field code } } }""",
        {"p": center["id"]},
        token=token,
        tenant=CITY,
    )
    assert wrong.data["createDepartment"] == {
        "department": None,
        "errors": [{"field": "parentId", "code": "INVALID"}],
    }
    tree = await _tree(gql, admin, rencheng)
    assert {name: n["depth"] for name, n in tree.items()} == {
        "任城区": 1,
        "古槐街道": 2,
        "南池社区": 3,
    }

    # move the street (with its community) from 任城区 to 兖州区: same depths, new subtree
    moved = await gql(
        """mutation($d: ID!, $p: ID!) { moveDepartment(departmentId: $d, newParentId: $p) {
             department { depth parent { name } } errors { field code } } }""",
        {"d": street, "p": yanzhou},
        token=token,
        tenant=CITY,
    )
    assert moved.ok()["moveDepartment"]["department"] == {"depth": 2, "parent": {"name": "兖州区"}}
    assert set(await _tree(gql, admin, rencheng)) == {"任城区"}
    assert set(await _tree(gql, admin, yanzhou)) == {"兖州区", "古槐街道", "南池社区"}
    # move a bureau with its child under another bureau: every depth below shifts by one
    await gql(
        """mutation($d: ID!, $p: ID!) { moveDepartment(departmentId: $d, newParentId: $p) {
             errors { code } } }""",
        {"d": urban, "p": other},
        token=token,
        tenant=CITY,
    )
    housing = await _tree(gql, admin, other)
    assert {name: n["depth"] for name, n in housing.items()} == {
        "济宁市住房和城乡建设局": 1,
        "济宁市城市管理局": 2,
        "市容环卫处": 3,
    }
    # a department cannot move under its own subtree
    loop = await gql(
        """mutation($d: ID!, $p: ID!) { moveDepartment(departmentId: $d, newParentId: $p) {
             department { id } errors { field code } } }""",
        {"d": other, "p": urban},
        token=token,
        tenant=CITY,
    )
    assert loop.data["moveDepartment"]["errors"] == [{"field": "newParentId", "code": "INVALID"}]

    # deactivate 兖州区: its subtree disappears from lists, history stays
    deactivated = await gql(
        """mutation($d: ID!) { deactivateDepartment(departmentId: $d) {
             deactivatedCount errors { code } } }""",
        {"d": yanzhou},
        token=token,
        tenant=CITY,
    )
    assert deactivated.ok()["deactivateDepartment"]["deactivatedCount"] == 3
    visible = await _tree(gql, admin, center["id"])
    assert not {"兖州区", "古槐街道", "南池社区"} & set(visible)
    everything = await _tree(gql, admin, center["id"], inactive=True)
    assert everything["南池社区"]["isActive"] is False
    # an inactive parent takes no children
    refused = await gql(
        """mutation($p: ID!) { createDepartment(input: { parentId: $p, kind: STREET,
             name: "新街道" }) { errors { field code message } } }""",
        {"p": yanzhou},
        token=token,
        tenant=CITY,
    )
    assert refused.data["createDepartment"]["errors"][0]["code"] == "INVALID"

    # search by name and by exact code
    found = await gql(
        '{ a: departments(search: "城市管理") { nodes { name } } '
        ' b: departments(search: "RENCHENG") { nodes { name } } }',
        token=token,
        tenant=CITY,
    )
    assert [n["name"] for n in found.ok()["a"]["nodes"]] == ["济宁市城市管理局"]
    assert [n["name"] for n in found.data["b"]["nodes"]] == ["任城区"]
    # children of a parent
    children = await gql(
        '{ departments(parentId: "' + urban + '") { nodes { name parent { name } } } }',
        token=token,
        tenant=CITY,
    )
    assert children.ok()["departments"]["nodes"] == [
        {"name": "市容环卫处", "parent": {"name": "济宁市城市管理局"}}
    ]


async def test_keyset_pagination_over_three_pages(gql: Gql, world: World) -> None:
    admin = await _admin(gql, world)
    centers = await gql(
        "{ departments(kind: CENTER) { nodes { id } } }", token=admin.token, tenant=CITY
    )
    center = centers.ok()["departments"]["nodes"][0]["id"]
    created = [
        await gql.new_department(admin.token, CITY, center, "UTILITY", f"公用事业单位{i:02d}")
        for i in range(25)
    ]
    seen: list[str] = []
    after: str | None = None
    pages = 0
    while True:
        page = await gql(
            """query($after: String) {
               departments(search: "公用事业单位", first: 10, after: $after) {
                 edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }""",
            {"after": after},
            token=admin.token,
            tenant=CITY,
        )
        conn = page.ok()["departments"]
        pages += 1
        seen += [e["node"]["id"] for e in conn["edges"]]
        assert conn["pageInfo"]["endCursor"] == conn["edges"][-1]["cursor"]
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert pages == 3
    assert seen == created  # every row once, in creation (id) order
    bad = await gql(
        '{ departments(after: "garbage", first: 500) { nodes { id } } }',
        token=admin.token,
        tenant=CITY,
    )
    assert bad.codes[0] == "INVALID"


async def test_people_roles_and_memberships(gql: Gql, world: World) -> None:
    admin = await _admin(gql, world)
    handler = await gql.new_user(
        "rencheng_handler",
        token=admin.token,
        tenant=CITY,
        role="DEPT_HANDLER",
        department=_ids["rencheng"],
    )
    _people["handler"] = handler
    listed = await gql(
        """query($id: ID!) { memberships(userId: $id) { id role isActive
             department { name } tenant { slug } } }""",
        {"id": handler.id},
        token=admin.token,
        tenant=CITY,
    )
    assert listed.ok()["memberships"] == [
        {
            "id": listed.data["memberships"][0]["id"],
            "role": "DEPT_HANDLER",
            "isActive": True,
            "department": {"name": "任城区"},
            "tenant": {"slug": CITY},
        }
    ]
    # a department role needs a department
    refused = await gql(
        """mutation($u: ID!) { grantMembership(userId: $u, role: DEPT_MANAGER) {
             membership { id } errors { field code } } }""",
        {"u": handler.id},
        token=admin.token,
        tenant=CITY,
    )
    assert refused.data["grantMembership"]["errors"] == [
        {"field": "departmentId", "code": "INVALID"}
    ]
    granted = await gql(
        """mutation($u: ID!) { grantMembership(userId: $u, role: SUPERVISOR) {
             membership { id role isActive } errors { code } } }""",
        {"u": handler.id},
        token=admin.token,
        tenant=CITY,
    )
    supervisor = granted.ok()["grantMembership"]["membership"]
    assert supervisor["role"] == "SUPERVISOR"
    # the new role takes effect on the handler's next request
    users = await gql(
        "{ users(first: 50) { nodes { username } } }", token=handler.token, tenant=CITY
    )
    # created in jining: named in jining's namespace
    assert "rencheng_handler@jining" in [u["username"] for u in users.ok()["users"]["nodes"]]
    revoked = await gql(
        """mutation($m: ID!) { revokeMembership(membershipId: $m) {
             membership { isActive } errors { code } } }""",
        {"m": supervisor["id"]},
        token=admin.token,
        tenant=CITY,
    )
    assert revoked.ok()["revokeMembership"]["membership"] == {"isActive": False}
    after = await gql("{ users { nodes { id } } }", token=handler.token, tenant=CITY)
    assert after.codes == ["PERMISSION_DENIED"]
    assert after.errors[0]["message"] == "user.read is not allowed"
    roles = await gql(
        """query($id: ID!) { memberships(userId: $id) { role } }""",
        {"id": handler.id},
        token=admin.token,
        tenant=CITY,
    )
    assert roles.ok()["memberships"] == [{"role": "DEPT_HANDLER"}]

    # the same person also serves gamma, granted there by the province admin
    gamma = await gql(
        """mutation($u: ID!) { grantMembership(userId: $u, role: AGENT) {
             membership { id } errors { code } } }""",
        {"u": handler.id},
        token=world.shandong_admin.token,
        tenant="gamma",
    )
    gamma.ok()
    me = await gql(
        """{ me { user { username } platformOperator currentTenant { slug } roles
                  memberships { role tenant { slug } department { name } } } }""",
        token=handler.token,
    )
    assert me.ok()["me"] == {
        "user": {"username": "rencheng_handler@jining"},
        "platformOperator": False,
        "currentTenant": None,
        "roles": [],
        # by city (gamma was created first); departments only for the current city
        "memberships": [
            {"role": "AGENT", "tenant": {"slug": "gamma"}, "department": None},
            {"role": "DEPT_HANDLER", "tenant": {"slug": CITY}, "department": None},
        ],
    }
    in_city = await gql(
        """{ me { currentTenant { slug } roles
                  memberships { tenant { slug } department { name } } } }""",
        token=handler.token,
        tenant=CITY,
    )
    mine = in_city.ok()["me"]
    assert mine["currentTenant"] == {"slug": CITY}
    assert mine["roles"] == ["DEPT_HANDLER"]
    # departments are shown for the current city's memberships only
    assert {"tenant": {"slug": CITY}, "department": {"name": "任城区"}} in mine["memberships"]


async def test_api_keys(gql: Gql, world: World) -> None:
    admin = await _admin(gql, world)
    created = await gql(
        """mutation { createApiKey(name: "CTI telephony", roles: [AGENT]) {
             apiKey { id prefix roles grantedRoles lastUsedAt revokedAt }
             secret errors { code } } }""",
        token=admin.token,
        tenant=CITY,
    )
    payload = created.ok()["createApiKey"]
    key, secret = payload["apiKey"], payload["secret"]
    assert secret.startswith(f"hk_{key['prefix']}_")
    # grantedRoles: the same Role enum (and casing) as me.roles and createApiKey's
    # argument; roles, deprecated, answers the stored values as it always did
    assert key["grantedRoles"] == ["AGENT"]
    assert key["roles"] == ["agent"]
    listed = await gql("{ apiKeys { id prefix lastUsedAt } }", token=admin.token, tenant=CITY)
    assert [k["id"] for k in listed.ok()["apiKeys"]] == [key["id"]]
    assert "secret" not in listed.body["data"]["apiKeys"][0]  # never shown again
    query = "{ departments(kind: CENTER) { nodes { name } } }"
    own = await gql(query, api_key=secret)
    assert own.ok()["departments"]["nodes"] == [{"name": "济宁市12345热线中心"}]
    assert (await gql(query, api_key=secret, tenant=CITY)).status == 200
    # the key names its city: another city's header is refused
    other = await gql(query, api_key=secret, tenant="alpha")
    assert (other.status, other.codes) == (401, ["AUTH_FAILED"])
    # an agent key cannot manage keys
    denied = await gql("{ apiKeys { id } }", api_key=secret)
    assert denied.codes == ["PERMISSION_DENIED"]
    used = await gql("{ apiKeys { lastUsedAt } }", token=admin.token, tenant=CITY)
    assert used.ok()["apiKeys"][0]["lastUsedAt"] is not None
    revoked = await gql(
        """mutation($k: ID!) { revokeApiKey(apiKeyId: $k) {
             apiKey { revokedAt } errors { code } } }""",
        {"k": key["id"]},
        token=admin.token,
        tenant=CITY,
    )
    assert revoked.ok()["revokeApiKey"]["apiKey"]["revokedAt"] is not None
    after = await gql(query, api_key=secret)
    assert (after.status, after.codes) == (401, ["AUTH_FAILED"])


async def test_audit_trail_shows_the_admin_actions(gql: Gql, world: World) -> None:
    admin = await _admin(gql, world)
    result = await gql(
        "{ auditEvents(first: 100) { nodes { action actorId target } } }",
        token=admin.token,
        tenant=CITY,
    )
    actions = {e["action"] for e in result.ok()["auditEvents"]["nodes"]}
    assert {
        "tenant.create",
        "tenant.update",
        "calendar.set",
        "user.create",
        "membership.grant",
        "membership.revoke",
        "department.create",
        "department.move",
        "department.deactivate",
        "apikey.create",
        "apikey.revoke",
    } <= actions
    # a city admin's trail is its city's: nothing of alpha
    alpha = await gql(
        "{ auditEvents(first: 100) { nodes { target } } }",
        token=world.alpha.admin.token,
        tenant="alpha",
    )
    assert "370800" not in {e["target"] for e in alpha.ok()["auditEvents"]["nodes"]}


async def test_totp_enrolment_and_login_with_a_code(gql: Gql, world: World) -> None:
    admin = await _admin(gql, world)
    begun = await gql(
        "mutation { beginTotpEnrolment { secret provisioningUri errors { code } } }",
        token=admin.token,
    )
    enrolment = begun.ok()["beginTotpEnrolment"]
    assert enrolment["provisioningUri"].startswith("otpauth://totp/")
    totp = pyotp.TOTP(enrolment["secret"])
    confirmed = await gql(
        "mutation($c: String!) { confirmTotp(code: $c) { ok errors { code } } }",
        {"c": totp.now()},
        token=admin.token,
    )
    assert confirmed.ok()["confirmTotp"]["ok"] is True
    login = """mutation($c: String) { login(username: "jining_admin@jining",
                 password: "Correct-Horse-42", totpCode: $c) {
                 tokens { accessToken totpEnrolmentRequired } errors { field code } } }"""
    without = await gql(login, {"c": None})
    assert without.data["login"]["errors"] == [{"field": "totpCode", "code": "TOTP_REQUIRED"}]
    # the confirmation spent this step's code; the next step's is accepted (±1 step)
    with_code = await gql(login, {"c": totp.at(time.time() + 30)})
    tokens = with_code.ok()["login"]["tokens"]
    assert tokens["totpEnrolmentRequired"] is False
    me = await gql("{ me { user { totpEnabled } } }", token=tokens["accessToken"])
    assert me.ok()["me"]["user"]["totpEnabled"] is True


async def test_an_admin_past_the_totp_grace_period_can_only_enrol(
    gql: Gql, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stolen password alone cannot act as an admin once the grace period is over:
    login answers TOTP_ENROLMENT_REQUIRED, and name + password only reach the enrolment."""
    admin = await gql.new_user(
        "late_admin", token=world.shandong_admin.token, tenant=CITY, role="TENANT_ADMIN"
    )
    monkeypatch.setenv("HOTLINE_ADMIN_TOTP_GRACE_DAYS", "0")
    reset_settings()
    try:
        login = """mutation($c: String) { login(username: "late_admin@jining",
                     password: "Correct-Horse-42", totpCode: $c) {
                     tokens { accessToken } errors { field code message } } }"""
        refused = await gql(login, {"c": None})
        assert refused.data["login"]["tokens"] is None
        (error,) = refused.data["login"]["errors"]
        assert (error["field"], error["code"]) == ("totpCode", "TOTP_ENROLMENT_REQUIRED")
        # the session from before the deadline cannot be refreshed any more
        refresh = """mutation($t: String!) { refreshToken(refreshToken: $t) {
                       tokens { accessToken } errors { code } } }"""
        stale = await gql(refresh, {"t": admin.refresh_token})
        assert stale.data["refreshToken"]["errors"] == [{"code": "TOTP_ENROLMENT_REQUIRED"}]
        credentials = {"u": "late_admin@jining", "p": "Correct-Horse-42"}
        wrong = await gql(
            """mutation($u: String!) { beginTotpEnrolment(username: $u, password: "nope") {
                 secret errors { code } } }""",
            {"u": credentials["u"]},
        )
        assert wrong.data["beginTotpEnrolment"] == {
            "secret": None,
            "errors": [{"code": "AUTH_FAILED"}],
        }
        begun = await gql(
            """mutation($u: String!, $p: String!) { beginTotpEnrolment(username: $u,
                 password: $p) { secret errors { code } } }""",
            credentials,
        )
        secret = begun.ok()["beginTotpEnrolment"]["secret"]
        confirmed = await gql(
            """mutation($u: String!, $p: String!, $c: String!) { confirmTotp(code: $c,
                 username: $u, password: $p) { ok errors { code } } }""",
            {**credentials, "c": pyotp.TOTP(secret).now()},
        )
        assert confirmed.ok()["confirmTotp"] == {"ok": True, "errors": []}
        done = await gql(login, {"c": pyotp.TOTP(secret).at(time.time() + 30)})
        assert done.ok()["login"]["tokens"]["accessToken"]
    finally:
        monkeypatch.undo()
        reset_settings()


@pytest.fixture
def no_refresh_grace(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A reused refresh token revokes at once (no grace window, docs/auth.md)."""
    monkeypatch.setenv("HOTLINE_REFRESH_GRACE_SECONDS", "0")
    reset_settings()
    yield
    monkeypatch.undo()
    reset_settings()


@pytest.mark.usefixtures("no_refresh_grace")
async def test_refresh_rotation_and_logout(gql: Gql, world: World) -> None:
    await gql.new_user(
        "session_user", token=(await _admin(gql, world)).token, tenant=CITY, role="AGENT"
    )
    refresh = """mutation($t: String!) { refreshToken(refreshToken: $t) {
                   tokens { accessToken refreshToken } errors { code } } }"""
    me = "{ me { user { username } } }"
    access1, refresh1 = await gql.login("session_user", tenant=CITY)
    rotated = (await gql(refresh, {"t": refresh1})).ok()["refreshToken"]["tokens"]
    assert rotated["refreshToken"] != refresh1
    assert (await gql(me, token=rotated["accessToken"])).ok()["me"]["user"] == {
        "username": "session_user@jining"
    }
    # the used refresh token again: reuse → the whole family is revoked
    reused = await gql(refresh, {"t": refresh1})
    assert reused.data["refreshToken"]["errors"] == [{"code": "AUTH_FAILED"}]
    dead = await gql(me, token=rotated["accessToken"])
    assert (dead.status, dead.codes) == (401, ["AUTH_FAILED"])
    # logout ends a session: its access token is refused with 401 at once
    access2, refresh2 = await gql.login("session_user@jining")
    assert (await gql(me, token=access2)).status == 200
    out = await gql(
        "mutation($t: String!) { logout(refreshToken: $t) { ok errors { code } } }", {"t": refresh2}
    )
    assert out.ok()["logout"]["ok"] is True
    refused = await gql(me, token=access2)
    assert (refused.status, refused.codes) == (401, ["AUTH_FAILED"])
    assert (await gql(refresh, {"t": refresh2})).data["refreshToken"]["errors"] == [
        {"code": "AUTH_FAILED"}
    ]
    # an unrelated session of the same user is unaffected
    access3, _ = await gql.login("session_user", tenant=CITY)
    assert (await gql(me, token=access3)).status == 200
    assert access1 != access3


# --- password reset by e-mail, against a real local SMTP server --------------------------


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        content = envelope.content
        assert isinstance(content, bytes)
        message = email.message_from_bytes(content, policy=default_policy)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def inbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Inbox]:
    box = _Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=_free_port())
    controller.start()
    monkeypatch.setenv("HOTLINE_SMTP_URL", f"smtp://127.0.0.1:{controller.port}")
    reset_settings()
    try:
        yield box
    finally:
        controller.stop()
        monkeypatch.undo()
        reset_settings()


async def test_password_reset_by_mail(gql: Gql, world: World, inbox: _Inbox) -> None:
    request = """mutation($who: String!) { requestPasswordReset(usernameOrEmail: $who) {
                   ok errors { code } } }"""
    # unknown users get the same answer, and no mail
    unknown = await gql(request, {"who": "nobody@example.org"})
    assert unknown.ok()["requestPasswordReset"] == {"ok": True, "errors": []}
    known = await gql(request, {"who": "alpha_agent@example.org"})
    assert known.ok()["requestPasswordReset"] == {"ok": True, "errors": []}
    for _ in range(50):
        if inbox.messages:
            break
        await asyncio.sleep(0.05)
    [message] = inbox.messages
    assert message["To"] == "alpha_agent@example.org"
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    match = re.search(r"reset-password\?token=(\S+)", body.get_content())
    assert match is not None
    token = match.group(1)
    reset = """mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) {
                 ok errors { field code } } }"""
    weak = await gql(reset, {"t": token, "p": "short"})
    assert weak.data["resetPassword"]["errors"] == [{"field": "password", "code": "WEAK_PASSWORD"}]
    done = await gql(reset, {"t": token, "p": "A-brand-new-pass-77"})
    assert done.ok()["resetPassword"]["ok"] is True
    # single use, old password gone, new one works, old sessions ended
    again = await gql(reset, {"t": token, "p": "Another-new-pass-88"})
    assert again.data["resetPassword"]["errors"] == [{"field": "token", "code": "INVALID"}]
    old = await gql(
        """mutation { login(username: "alpha_agent@alpha", password: "Correct-Horse-42") {
             errors { code } } }"""
    )
    assert old.data["login"]["errors"] == [{"code": "AUTH_FAILED"}]
    await gql.login("alpha_agent@alpha", "A-brand-new-pass-77")
    ended = await gql("{ me { user { id } } }", token=world.alpha.agent.token)
    assert ended.status == 401
