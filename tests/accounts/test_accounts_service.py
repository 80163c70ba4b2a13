"""Users, memberships, province roles, actors, admin resets and API keys across two cities."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from hotline.platform.tenancy import Scope, TenantNotSet, use_scope
from hotline.tenants.accounts import api_keys, memberships, sessions, totp, users
from hotline.tenants.accounts.models import ApiKey, Membership, User
from hotline.tenants.departments.models import Department, DepartmentKind
from hotline.tenants.kernel.access import Actor
from hotline.tenants.kernel.audit import AuditEvent
from hotline.tenants.kernel.errors import (
    AuthFailed,
    Conflict,
    Invalid,
    NotFound,
    PermissionDenied,
    WeakPassword,
)
from hotline.tenants.kernel.roles import Role

if TYPE_CHECKING:
    from tests.accounts.conftest import City, World


async def _admin(world: World, city: City) -> Actor:
    admin = world.alpha_admin if city is world.alpha else world.beta_admin
    return await world.actor(admin, city)


async def _district(city: City, name: str) -> Department:
    with use_scope(city.scope()):
        district = await Department.create(
            parent_id=city.center.id,
            kind=DepartmentKind.DISTRICT,
            name=name,
            path=city.center.path,
            depth=1,
        )
        district.path = f"{city.center.path}{district.id}/"
        await district.save(update_fields=["path"])
    return district


# --- users ----------------------------------------------------------------------------


async def test_create_user_validates_and_audits(world: World) -> None:
    actor = await _admin(world, world.alpha)
    with use_scope(world.alpha.scope(actor.user_id)):
        user = await users.create_user(
            actor=actor,
            username="Quinn.Li",
            display_name=" Quinn Li ",
            password=world.password,
            email="Quinn@Example.COM",
        )
        # named in alpha's namespace
        assert (user.username, user.display_name, user.email) == (
            f"quinn.li@{world.alpha.tenant.slug}",
            "Quinn Li",
            "quinn@example.com",
        )
        assert user.password_hash is not None
        assert user.password_hash.startswith("$argon2id$")
        with pytest.raises(Conflict):
            await users.create_user(
                actor=actor, username="QUINN.LI", display_name="Q", password=world.password
            )
        with pytest.raises(Invalid):
            await users.create_user(
                actor=actor, username="a b", display_name="X", password=world.password
            )
        with pytest.raises(Invalid):
            await users.create_user(
                actor=actor, username="rita", display_name="R", password=world.password, email="x@"
            )
        with pytest.raises(WeakPassword) as weak:
            await users.create_user(
                actor=actor, username="rita", display_name="R", password="rita-Secret-1"
            )
        assert "username" in weak.value.message
        with pytest.raises(PermissionDenied):
            await users.create_user(
                actor=actor,
                username="rita",
                display_name="R",
                password=world.password,
                platform_operator=True,
            )
        audit = await AuditEvent.filter(
            action="user.create", target=f"quinn.li@{world.alpha.tenant.slug}"
        ).first()
    assert audit is not None
    assert (audit.actor_id, audit.tenant_id) == (actor.user_id, world.alpha.id)


async def test_create_user_with_a_role_is_all_or_nothing(world: World) -> None:
    actor = await _admin(world, world.alpha)
    district = await _district(world.alpha, "Shizhong")
    beta_district = await _district(world.beta, "Gulou")
    with use_scope(world.alpha.scope(actor.user_id)):
        user = await users.create_user(
            actor=actor,
            username="handler1",
            display_name="Handler",
            password=world.password,
            role=Role.DEPT_HANDLER,
            department_id=district.id,
        )
        with pytest.raises(NotFound):
            await users.create_user(
                actor=actor,
                username="handler2",
                display_name="Handler",
                password=world.password,
                role=Role.DEPT_HANDLER,
                department_id=beta_district.id,
            )
    assert not await User.exists(username="handler2")
    handler = await world.actor(user, world.alpha)
    assert handler.roles == {Role.DEPT_HANDLER}
    assert handler.department_ids == {district.id}
    with pytest.raises(PermissionDenied):
        await users.create_user(
            actor=None,
            username="handler3",
            display_name="Handler",
            password=world.password,
            role=Role.AGENT,
        )
    assert not await User.exists(username="handler3")


async def test_create_user_needs_user_manage(world: World) -> None:
    agent = await world.member("sam", world.alpha, Role.AGENT)
    actor = await world.actor(agent, world.alpha)
    with use_scope(world.alpha.scope(agent.id)), pytest.raises(PermissionDenied):
        await users.create_user(
            actor=actor, username="tess", display_name="T", password=world.password
        )


async def test_a_city_names_its_people_without_learning_other_cities_names(
    world: World,
) -> None:
    """Usernames created in a city live in its namespace: a name taken in beta is free
    in alpha, and "taken" speaks only of alpha's own names."""
    beta_admin = await _admin(world, world.beta)
    with use_scope(world.beta.scope(beta_admin.user_id)):
        in_beta = await users.create_user(
            actor=beta_admin, username="zhangsan", display_name="张三", password=world.password
        )
    alpha_admin = await _admin(world, world.alpha)
    with use_scope(world.alpha.scope(alpha_admin.user_id)):
        in_alpha = await users.create_user(
            actor=alpha_admin, username="ZhangSan", display_name="张三", password=world.password
        )
        with pytest.raises(Conflict) as taken:
            await users.create_user(
                actor=alpha_admin, username="zhangsan", display_name="张三", password=world.password
            )
        # nobody chooses a name in another city's namespace
        with pytest.raises(Invalid):
            await users.create_user(
                actor=alpha_admin,
                username="lisi@beta",
                display_name="李四",
                password=world.password,
            )
    assert (in_alpha.username, in_beta.username) == ("zhangsan@alpha", "zhangsan@beta")
    assert "beta" not in taken.value.message
    # a province or platform account keeps its bare name, beside the cities' ones
    bare = await users.create_user(
        actor=None, username="zhangsan", display_name="张三 (province)", password="Other-Pass-2026"
    )
    assert bare.username == "zhangsan"

    # login stays unambiguous: the full name, or the bare name with the city selected
    async def who(username: str, password: str, tenant_id: int | None = None) -> str:
        pair = await sessions.login(username=username, password=password, tenant_id=tenant_id)
        claims = await sessions.authenticate_access_token(token=pair.access_token)
        return str(claims["sub"])

    assert await who("zhangsan@alpha", world.password) == str(in_alpha.id)
    assert await who("zhangsan@beta", world.password) == str(in_beta.id)
    assert await who("zhangsan", world.password, world.alpha.id) == str(in_alpha.id)
    assert await who("zhangsan", world.password, world.beta.id) == str(in_beta.id)
    assert await who("zhangsan", "Other-Pass-2026") == str(bare.id)
    # beta's person cannot log in through alpha with a bare name, nor alpha's without a city
    with pytest.raises(AuthFailed):
        await sessions.login(username="zhangsan", password=world.password)
    with pytest.raises(AuthFailed):
        await sessions.login(username="zhangsan@beta", password="Other-Pass-2026")


# --- memberships ----------------------------------------------------------------------


async def test_grant_membership_in_the_current_city(world: World) -> None:
    actor = await _admin(world, world.alpha)
    district = await _district(world.alpha, "Lixia")
    beta_district = await _district(world.beta, "Xuanwu")
    outsider = await users.create_user(
        actor=None, username="ursula", display_name="Ursula", password=world.password
    )
    with use_scope(world.alpha.scope(actor.user_id)):
        user = await users.create_user(
            actor=actor, username="uma", display_name="Uma", password=world.password
        )
        # users are global: a city cannot enrol someone it neither created nor employs
        with pytest.raises(NotFound):
            await memberships.grant_membership(actor=actor, user_id=outsider.id, role=Role.AGENT)
        with pytest.raises(Invalid):
            await memberships.grant_membership(actor=actor, user_id=user.id, role=Role.DEPT_HANDLER)
        # a department of another city does not exist here
        with pytest.raises(NotFound):
            await memberships.grant_membership(
                actor=actor,
                user_id=user.id,
                role=Role.DEPT_HANDLER,
                department_id=beta_district.id,
            )
        with pytest.raises(NotFound):
            await memberships.grant_membership(actor=actor, user_id=999_999, role=Role.AGENT)
        handler = await memberships.grant_membership(
            actor=actor, user_id=user.id, role=Role.DEPT_HANDLER, department_id=district.id
        )
        assert (handler.tenant_id, handler.province_id) == (world.alpha.id, world.shandong.id)
        with pytest.raises(Conflict):
            await memberships.grant_membership(
                actor=actor, user_id=user.id, role=Role.DEPT_HANDLER, department_id=district.id
            )
        agent = await memberships.grant_membership(actor=actor, user_id=user.id, role=Role.AGENT)
        with pytest.raises(Conflict):
            await memberships.grant_membership(actor=actor, user_id=user.id, role=Role.AGENT)

    uma = await world.actor(user, world.alpha)
    assert uma.roles == {Role.DEPT_HANDLER, Role.AGENT}
    assert uma.department_ids == {district.id}

    with use_scope(world.alpha.scope(actor.user_id)):
        await memberships.revoke_membership(actor=actor, membership_id=agent.id)
        assert (await world.actor(user, world.alpha)).roles == {Role.DEPT_HANDLER}
        again = await memberships.grant_membership(actor=actor, user_id=user.id, role=Role.AGENT)
        assert again.id == agent.id
        assert again.is_active
        granted = await AuditEvent.filter(action="membership.grant", target=str(user.id)).count()
    assert granted == 3


async def test_memberships_of_another_city_are_not_found(world: World) -> None:
    beta_actor = await _admin(world, world.beta)
    user = await world.member("vera", world.alpha, Role.AGENT)
    with use_scope(world.alpha.scope()):
        membership = await Membership.get(user_id=user.id)
    with use_scope(world.beta.scope(beta_actor.user_id)), pytest.raises(NotFound):
        await memberships.revoke_membership(actor=beta_actor, membership_id=membership.id)
    # the scope and the actor must name the same city
    alpha_actor = await _admin(world, world.alpha)
    with use_scope(world.beta.scope(alpha_actor.user_id)), pytest.raises(PermissionDenied):
        await memberships.grant_membership(actor=alpha_actor, user_id=user.id, role=Role.AGENT)
    with pytest.raises(TenantNotSet):
        await memberships.grant_membership(actor=alpha_actor, user_id=user.id, role=Role.AGENT)


async def test_grant_province_role(world: World) -> None:
    user = await users.create_user(
        actor=None, username="wang", display_name="Wang", password=world.password
    )
    alpha_admin = await _admin(world, world.alpha)
    with pytest.raises(PermissionDenied):
        await memberships.grant_province_role(
            actor=alpha_admin, user_id=user.id, province_id=world.shandong.id
        )
    operator = await world.actor(world.operator)
    assert operator.platform_operator
    await memberships.grant_province_role(
        actor=operator, user_id=user.id, province_id=world.shandong.id
    )
    with pytest.raises(Conflict):
        await memberships.grant_province_role(
            actor=operator, user_id=user.id, province_id=world.shandong.id
        )
    with pytest.raises(NotFound):
        await memberships.grant_province_role(actor=operator, user_id=user.id, province_id=999_999)


# --- actors ---------------------------------------------------------------------------


async def test_load_actor_enters_only_cities_the_user_serves(world: World) -> None:
    agent = await world.member("xena", world.alpha, Role.AGENT)
    actor = await world.actor(agent, world.alpha)
    assert (actor.tenant_id, actor.province_id, actor.roles) == (
        world.alpha.id,
        world.shandong.id,
        frozenset({Role.AGENT}),
    )
    assert actor.username == "xena@alpha"
    with pytest.raises(NotFound):
        await world.actor(agent, world.beta)
    with pytest.raises(NotFound):
        await memberships.load_actor(user_id=agent.id, tenant_id=world.alpha.id, province_id=-1)
    with pytest.raises(NotFound):
        await memberships.load_actor(
            user_id=agent.id, tenant_id=None, province_id=world.shandong.id
        )
    bare = await memberships.load_actor(user_id=agent.id, tenant_id=None, province_id=None)
    assert (bare.tenant_id, bare.roles) == (None, frozenset())


async def test_province_admin_enters_its_cities_and_province(world: World) -> None:
    operator = await world.actor(world.operator)
    admin = await users.create_user(
        actor=None, username="yang", display_name="Yang", password=world.password
    )
    await memberships.grant_province_role(
        actor=operator, user_id=admin.id, province_id=world.shandong.id
    )
    in_alpha = await world.actor(admin, world.alpha)
    assert in_alpha.is_province_admin
    assert in_alpha.roles == frozenset()
    in_province = await memberships.load_actor(
        user_id=admin.id, tenant_id=None, province_id=world.shandong.id
    )
    assert in_province.is_province_admin
    with pytest.raises(NotFound):
        await world.actor(admin, world.beta)
    with pytest.raises(NotFound):
        await memberships.load_actor(user_id=admin.id, tenant_id=None, province_id=world.jiangsu.id)


# --- admin resets ---------------------------------------------------------------------


async def test_admin_reset_password_stays_within_the_admins_reach(world: World) -> None:
    alpha_admin = await _admin(world, world.alpha)
    local = await world.member("zoe", world.alpha, Role.AGENT)
    both = await world.member("abe", world.alpha, Role.AGENT)
    # beta's own admin may not enrol alpha's user; a province-level actor may
    with use_scope(world.beta.scope(world.beta_admin.id)):
        with pytest.raises(NotFound):
            await memberships.grant_membership(
                actor=await _admin(world, world.beta), user_id=both.id, role=Role.AGENT
            )
        province_level = Actor(
            user_id=world.operator.id,
            tenant_id=world.beta.id,
            province_id=world.beta.province_id,
            platform_operator=True,
        )
        await memberships.grant_membership(actor=province_level, user_id=both.id, role=Role.AGENT)
    beta_only = await world.member("bea", world.beta, Role.AGENT)
    pair = await sessions.login(username="zoe@alpha", password=world.password)

    with use_scope(world.alpha.scope(alpha_admin.user_id)):
        await users.admin_reset_password(
            actor=alpha_admin, user_id=local.id, new_password="Reset-By-Admin-1"
        )
        # serving in beta too: only a province admin (of both) or an operator may reset
        with pytest.raises(PermissionDenied):
            await users.admin_reset_password(
                actor=alpha_admin, user_id=both.id, new_password="Reset-By-Admin-1"
            )
        with pytest.raises(NotFound):
            await users.admin_reset_password(
                actor=alpha_admin, user_id=beta_only.id, new_password="Reset-By-Admin-1"
            )
        with pytest.raises(NotFound):
            await users.admin_reset_password(
                actor=alpha_admin, user_id=world.beta_admin.id, new_password="Reset-By-Admin-1"
            )
        with pytest.raises(WeakPassword):
            await users.admin_reset_password(
                actor=alpha_admin, user_id=local.id, new_password="zoe"
            )
        audited = await AuditEvent.filter(action="user.password_reset_by_admin").count()
    assert audited == 1
    with pytest.raises(AuthFailed):
        await sessions.authenticate_access_token(token=pair.access_token)
    await sessions.login(username="zoe@alpha", password="Reset-By-Admin-1")
    operator = await world.actor(world.operator)
    # a province admin reaches users serving only in its province's cities
    yuri = await users.create_user(
        actor=None, username="yuri", display_name="Yuri", password=world.password
    )
    await memberships.grant_province_role(
        actor=operator, user_id=yuri.id, province_id=world.shandong.id
    )
    province_admin = await memberships.load_actor(
        user_id=yuri.id, tenant_id=None, province_id=world.shandong.id
    )
    with use_scope(Scope.province(world.shandong.id, yuri.id)):
        await users.admin_reset_password(
            actor=province_admin, user_id=local.id, new_password="Reset-By-Province-1"
        )
        with pytest.raises(PermissionDenied):
            await users.admin_reset_password(
                actor=province_admin, user_id=both.id, new_password="Reset-By-Province-1"
            )
    await users.admin_reset_password(
        actor=operator, user_id=both.id, new_password="Reset-By-Operator-1"
    )


async def test_admin_reset_totp(world: World) -> None:
    user = await world.member("cody", world.alpha, Role.SUPERVISOR)
    await totp.begin_totp_enrolment(user_id=user.id)
    await User.filter(id=user.id).update(totp_enabled=True)
    with pytest.raises(Conflict):
        await totp.begin_totp_enrolment(user_id=user.id)
    alpha_admin = await _admin(world, world.alpha)
    with use_scope(world.alpha.scope(alpha_admin.user_id)):
        await users.admin_reset_totp(actor=alpha_admin, user_id=user.id)
    stored = await User.get(id=user.id)
    assert (stored.totp_enabled, stored.totp_secret) == (False, None)
    await sessions.login(username="cody", password=world.password, tenant_id=world.alpha.id)


# --- API keys -------------------------------------------------------------------------


async def test_api_key_belongs_to_its_city(world: World) -> None:
    alpha_admin = await _admin(world, world.alpha)
    with use_scope(world.alpha.scope(alpha_admin.user_id)):
        key, plaintext = await api_keys.create_api_key(
            actor=alpha_admin, name="CTI gateway", roles=[Role.AGENT, Role.AGENT, Role.DISPATCHER]
        )
        with pytest.raises(Invalid):
            await api_keys.create_api_key(actor=alpha_admin, name="x", roles=[])
        with pytest.raises(Invalid):
            await api_keys.create_api_key(actor=alpha_admin, name="x", roles=[Role.TENANT_ADMIN])
    prefix, secret = plaintext.split("_", 2)[1:]
    assert plaintext.startswith("hk_")
    assert prefix == key.prefix
    assert secret not in key.secret_hash
    assert key.roles == ["agent", "dispatcher"]

    found = await api_keys.authenticate_api_key(plaintext=plaintext)
    assert found.id == key.id
    assert found.last_used_at is not None
    assert (
        await api_keys.authenticate_api_key(plaintext=plaintext, tenant_id=world.alpha.id)
    ).id == key.id
    actor = await memberships.actor_for_api_key(key=found)
    assert (actor.tenant_id, actor.province_id, actor.user_id) == (
        world.alpha.id,
        world.shandong.id,
        None,
    )
    assert actor.roles == {Role.AGENT, Role.DISPATCHER}
    assert actor.api_key_id == key.id

    with pytest.raises(AuthFailed):
        await api_keys.authenticate_api_key(plaintext=plaintext, tenant_id=world.beta.id)
    for wrong in (
        f"hk_{prefix}_{secret[:-1]}x",
        f"hk_{prefix}",
        "Bearer nonsense",
        f"hk_nope_{secret}",
    ):
        with pytest.raises(AuthFailed):
            await api_keys.authenticate_api_key(plaintext=wrong)


async def test_last_used_is_written_at_most_once_a_minute(world: World) -> None:
    alpha_admin = await _admin(world, world.alpha)
    with use_scope(world.alpha.scope(alpha_admin.user_id)):
        key, plaintext = await api_keys.create_api_key(
            actor=alpha_admin, name="SMS gateway", roles=[Role.AGENT]
        )
    first = (await api_keys.authenticate_api_key(plaintext=plaintext)).last_used_at
    again = (await api_keys.authenticate_api_key(plaintext=plaintext)).last_used_at
    assert first == again
    old = datetime.now(UTC) - timedelta(minutes=5)
    await ApiKey.filter(id=key.id).update(last_used_at=old)
    touched = (await api_keys.authenticate_api_key(plaintext=plaintext)).last_used_at
    assert touched is not None
    assert touched > old + timedelta(minutes=4)


async def test_revoked_key_is_refused_and_other_cities_cannot_revoke(world: World) -> None:
    alpha_admin = await _admin(world, world.alpha)
    beta_admin = await _admin(world, world.beta)
    with use_scope(world.beta.scope(beta_admin.user_id)):
        beta_key, beta_plaintext = await api_keys.create_api_key(
            actor=beta_admin, name="Open311", roles=[Role.AGENT]
        )
    with use_scope(world.alpha.scope(alpha_admin.user_id)):
        alpha_key, alpha_plaintext = await api_keys.create_api_key(
            actor=alpha_admin, name="WeChat", roles=[Role.AGENT]
        )
        with pytest.raises(NotFound):
            await api_keys.revoke_api_key(actor=alpha_admin, key_id=beta_key.id)
        await api_keys.revoke_api_key(actor=alpha_admin, key_id=alpha_key.id)
        assert await AuditEvent.filter(action="apikey.revoke").count() == 1
    await api_keys.authenticate_api_key(plaintext=beta_plaintext)
    with pytest.raises(AuthFailed):
        await api_keys.authenticate_api_key(plaintext=alpha_plaintext)
    agent = await world.member("dora", world.alpha, Role.AGENT)
    with use_scope(world.alpha.scope(agent.id)), pytest.raises(PermissionDenied):
        await api_keys.create_api_key(
            actor=await world.actor(agent, world.alpha), name="x", roles=[Role.AGENT]
        )


async def test_audit_rows_stay_in_their_city(world: World) -> None:
    beta_admin = await _admin(world, world.beta)
    with use_scope(world.beta.scope(beta_admin.user_id)):
        await api_keys.create_api_key(actor=beta_admin, name="Audited", roles=[Role.AGENT])
        beta_rows = await AuditEvent.all().values_list("tenant_id")
    assert beta_rows
    assert {row[0] for row in beta_rows} == {world.beta.id}
    with use_scope(Scope.platform()):
        assert await AuditEvent.all().count() == 0
