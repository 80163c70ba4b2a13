"""Login, lockout, rate limits, TOTP, refresh-token families, logout and password reset."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import asyncpg
import pyotp
import pytest

from hotline.platform.db.config import credentials
from hotline.platform.redis import key as redis_key
from hotline.platform.redis import redis_client
from hotline.platform.settings import Settings
from hotline.tenants.accounts import memberships, password_reset, sessions, totp, users
from hotline.tenants.accounts.models import RefreshToken, User
from hotline.tenants.kernel.errors import (
    AuthFailed,
    Invalid,
    Locked,
    NotFound,
    RateLimited,
    TotpRequired,
    WeakPassword,
)
from hotline.tenants.kernel.roles import Role

if TYPE_CHECKING:
    from tests.accounts.conftest import World


async def _fresh_minute() -> None:
    """Wait for a new rate-limit window when the current one is about to end."""
    if time.time() % 60 > 50:
        await asyncio.sleep(60 - time.time() % 60 + 0.1)


async def _user(world: World, name: str) -> User:
    return await users.create_user(
        actor=None, username=name, display_name=name.title(), password=world.password
    )


async def _refused(access_token: str) -> str:
    with pytest.raises(AuthFailed) as caught:
        await sessions.authenticate_access_token(token=access_token)
    return caught.value.message


async def test_login_issues_a_working_token_pair(world: World) -> None:
    user = await _user(world, "Carol")
    pair = await sessions.login(username=" carol ", password=world.password, ip="10.0.0.1")
    claims = await sessions.authenticate_access_token(token=pair.access_token)
    assert claims["sub"] == str(user.id)
    assert claims["name"] == "carol"
    assert isinstance(claims["sid"], str)
    assert pair.expires_in == 15 * 60
    assert pair.totp_enrolment_required is False


async def test_unknown_user_and_wrong_password_look_the_same(world: World) -> None:
    await _user(world, "dave")
    with pytest.raises(AuthFailed) as unknown:
        await sessions.login(username="nobody", password=world.password)
    with pytest.raises(AuthFailed) as wrong:
        await sessions.login(username="dave", password="Wrong-Password-1")
    assert unknown.value.message == wrong.value.message
    assert unknown.value.code == wrong.value.code


async def test_lockout_after_consecutive_failures(world: World, db: Settings) -> None:
    await _user(world, "erin")
    for _ in range(db.login_max_failures - 1):
        with pytest.raises(AuthFailed):
            await sessions.login(username="erin", password="Wrong-Password-1")
    # a success in between resets the count
    await sessions.login(username="erin", password=world.password)
    for _ in range(db.login_max_failures):
        with pytest.raises(AuthFailed):
            await sessions.login(username="erin", password="Wrong-Password-1")
    with pytest.raises(Locked):
        await sessions.login(username="erin", password=world.password)
    # the lockout is audited (a platform row: read it as the owner)
    conn = await asyncpg.connect(**credentials(db.database_url))
    try:
        rows = await conn.fetch(
            "SELECT actor_id, tenant_id FROM audit_events "
            "WHERE action = 'user.locked' AND target = 'erin'"
        )
    finally:
        await conn.close()
    assert [(r["actor_id"], r["tenant_id"]) for r in rows] == [(None, None)]
    # once the lock has passed, the right password works again
    await User.filter(username="erin").update(locked_until=datetime.now(UTC) - timedelta(seconds=1))
    await sessions.login(username="erin", password=world.password)
    erin = await User.get(username="erin")
    assert (erin.failed_logins, erin.locked_until) == (0, None)


async def test_rate_limit_per_username_and_per_ip(
    world: World, setting: Callable[[str, str], None]
) -> None:
    setting("LOGIN_RATE_PER_MINUTE", "3")
    await _user(world, "frank")
    await _fresh_minute()
    for _ in range(3):
        await sessions.login(username="frank", password=world.password)
    with pytest.raises(RateLimited):
        await sessions.login(username="frank", password=world.password)
    for name in ("ip-a", "ip-b", "ip-c"):
        with pytest.raises(AuthFailed):
            await sessions.login(username=name, password=world.password, ip="10.9.9.9")
    with pytest.raises(RateLimited):
        await sessions.login(username="ip-d", password=world.password, ip="10.9.9.9")
    # another address is not affected
    with pytest.raises(AuthFailed):
        await sessions.login(username="ip-d", password=world.password, ip="10.9.9.10")


def _code(secret: str, steps_ahead: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


async def test_totp_required_for_an_enrolled_admin(world: World) -> None:
    admin = world.alpha_admin
    # an admin who has not enrolled can still log in, and is told to enrol
    pair = await sessions.login(username=admin.username, password=world.password)
    assert pair.totp_enrolment_required is True
    secret, uri = await totp.begin_totp_enrolment(user_id=admin.id)
    assert uri.startswith("otpauth://totp/")
    assert secret in uri
    with pytest.raises(Invalid):
        await totp.confirm_totp(
            user_id=admin.id, code="000000" if _code(secret) != "000000" else "111111"
        )
    await totp.confirm_totp(user_id=admin.id, code=_code(secret))
    stored = await User.get(id=admin.id)
    assert stored.totp_enabled
    assert stored.totp_secret
    assert secret not in stored.totp_secret

    with pytest.raises(TotpRequired):
        await sessions.login(username=admin.username, password=world.password)
    with pytest.raises(AuthFailed):
        await sessions.login(username=admin.username, password=world.password, totp_code="12345x")
    with pytest.raises(AuthFailed):
        await sessions.login(
            username=admin.username, password=world.password, totp_code=_code(secret, 5)
        )
    code = _code(secret, 1)
    pair = await sessions.login(username=admin.username, password=world.password, totp_code=code)
    assert pair.totp_enrolment_required is False
    # the same code cannot be replayed within its window
    with pytest.raises(AuthFailed):
        await sessions.login(username=admin.username, password=world.password, totp_code=code)
    # a wrong password with a valid code is still a wrong password
    with pytest.raises(AuthFailed):
        await sessions.login(
            username=admin.username, password="Wrong-Password-1", totp_code=_code(secret, -1)
        )
    await User.filter(id=admin.id).update(failed_logins=0)


async def test_province_admin_and_operator_are_admins(world: World) -> None:
    pair = await sessions.login(username=world.operator.username, password=world.password)
    assert pair.totp_enrolment_required is True
    agent = await world.member("gina", world.alpha, Role.AGENT)
    assert (
        await sessions.login(username=agent.username, password=world.password)
    ).totp_enrolment_required is False


async def test_refresh_rotates_and_reuse_revokes_the_family(world: World) -> None:
    await _user(world, "hank")
    first = await sessions.login(username="hank", password=world.password)
    other = await sessions.login(username="hank", password=world.password)
    second = await sessions.refresh(refresh_token=first.refresh_token)
    third = await sessions.refresh(refresh_token=second.refresh_token)
    assert len({first.refresh_token, second.refresh_token, third.refresh_token}) == 3
    sid = (await sessions.authenticate_access_token(token=third.access_token))["sid"]
    assert sid == (await sessions.authenticate_access_token(token=first.access_token))["sid"]

    # first.refresh_token was already used: someone copied it
    with pytest.raises(AuthFailed):
        await sessions.refresh(refresh_token=first.refresh_token)
    with pytest.raises(AuthFailed):
        await sessions.refresh(refresh_token=third.refresh_token)
    assert await sessions.is_session_revoked(sid=sid)
    await _refused(third.access_token)
    await _refused(first.access_token)
    family = await RefreshToken.filter(family=sid)
    assert len(family) == 3
    assert all(t.revoked_at is not None for t in family)
    # the other session of the same user is untouched
    await sessions.authenticate_access_token(token=other.access_token)
    await sessions.refresh(refresh_token=other.refresh_token)
    with pytest.raises(AuthFailed):
        await sessions.refresh(refresh_token="made-up")


async def test_concurrent_refresh_of_one_token_lets_one_through(world: World) -> None:
    await _user(world, "iris")
    pair = await sessions.login(username="iris", password=world.password)
    results = await asyncio.gather(
        sessions.refresh(refresh_token=pair.refresh_token),
        sessions.refresh(refresh_token=pair.refresh_token),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["AuthFailed", "TokenPair"]


async def test_logout_refuses_the_access_token(world: World) -> None:
    await _user(world, "jack")
    pair = await sessions.login(username="jack", password=world.password)
    other = await sessions.login(username="jack", password=world.password)
    await sessions.authenticate_access_token(token=pair.access_token)
    await sessions.logout(refresh_token=pair.refresh_token)
    await _refused(pair.access_token)
    with pytest.raises(AuthFailed):
        await sessions.refresh(refresh_token=pair.refresh_token)
    await sessions.authenticate_access_token(token=other.access_token)
    await sessions.logout(refresh_token="unknown")  # ignored


async def test_disabled_user_cannot_refresh_or_log_in(world: World) -> None:
    user = await _user(world, "kate")
    pair = await sessions.login(username="kate", password=world.password)
    await User.filter(id=user.id).update(is_active=False)
    with pytest.raises(AuthFailed):
        await sessions.refresh(refresh_token=pair.refresh_token)
    with pytest.raises(AuthFailed):
        await sessions.login(username="kate", password=world.password)
    with pytest.raises(AuthFailed):
        await memberships.load_actor(user_id=user.id, tenant_id=None, province_id=None)


async def test_set_password_checks_the_current_one_and_ends_sessions(world: World) -> None:
    user = await _user(world, "liam")
    pair = await sessions.login(username="liam", password=world.password)
    with pytest.raises(AuthFailed):
        await users.set_password(
            user_id=user.id, current_password="Wrong-Password-1", new_password="Another-Pass-77"
        )
    with pytest.raises(WeakPassword):
        await users.set_password(
            user_id=user.id, current_password=world.password, new_password="short"
        )
    await users.set_password(
        user_id=user.id, current_password=world.password, new_password="Another-Pass-77"
    )
    await _refused(pair.access_token)
    with pytest.raises(AuthFailed):
        await sessions.login(username="liam", password=world.password)
    await sessions.login(username="liam", password="Another-Pass-77")


async def test_password_reset_is_single_use(world: World) -> None:
    user = await users.create_user(
        actor=None,
        username="mona",
        display_name="Mona",
        password=world.password,
        email="Mona@Example.com",
    )
    pair = await sessions.login(username="mona", password=world.password)
    token = await password_reset.request_password_reset(username_or_email="mona@example.com")
    assert token is not None
    assert (
        await password_reset.request_password_reset(username_or_email="ghost@example.com") is None
    )
    assert await password_reset.request_password_reset(username_or_email="ghost") is None

    with pytest.raises(Invalid):
        await password_reset.reset_password(
            token=token[:-2] + "xx", new_password="Brand-New-Pass-9"
        )
    # a weak password is refused without spending the token
    with pytest.raises(WeakPassword):
        await password_reset.reset_password(token=token, new_password="mona12345678")
    await password_reset.reset_password(token=token, new_password="Brand-New-Pass-9")
    with pytest.raises(Invalid):
        await password_reset.reset_password(token=token, new_password="Brand-New-Pass-10")
    await _refused(pair.access_token)
    await sessions.login(username="mona", password="Brand-New-Pass-9")
    assert (await User.get(id=user.id)).password_changed_at is not None


async def test_older_reset_links_die_with_a_password_change(world: World) -> None:
    await _user(world, "nina")
    first = await password_reset.request_password_reset(username_or_email="nina")
    second = await password_reset.request_password_reset(username_or_email="nina")
    assert first
    assert second
    assert first != second
    await password_reset.reset_password(token=second, new_password="Brand-New-Pass-9")
    with pytest.raises(Invalid):
        await password_reset.reset_password(token=first, new_password="Brand-New-Pass-10")


async def test_password_reset_requests_are_rate_limited(world: World) -> None:
    await _user(world, "omar")
    tokens = [
        await password_reset.request_password_reset(username_or_email="omar") for _ in range(6)
    ]
    assert all(tokens[:5])
    assert tokens[5] is None


async def test_external_session_for_a_linked_user(world: World) -> None:
    user = await _user(world, "pia")
    await User.filter(id=user.id).update(external_id="https://idp.example|ext-pia")
    pair = await sessions.start_external_session(external_id="https://idp.example|ext-pia")
    assert (await sessions.authenticate_access_token(token=pair.access_token))["sub"] == str(
        user.id
    )
    with pytest.raises(AuthFailed):
        await sessions.start_external_session(external_id="https://idp.example|nobody")


async def test_cli_token_is_a_revocable_session(world: World) -> None:
    user = await _user(world, "quentin")
    token = await sessions.issue_token_for(username="Quentin", ttl=timedelta(hours=8))
    claims = await sessions.authenticate_access_token(token=token)
    assert claims["exp"] - claims["iat"] == 8 * 3600
    with pytest.raises(NotFound):
        await sessions.issue_token_for(username="nobody", ttl=timedelta(hours=1))
    await users.set_password(
        user_id=user.id, current_password=world.password, new_password="Another-Pass-77"
    )
    await _refused(token)
    # remembered for as long as the token lives, not just a normal access-token lifetime
    ttl = await redis_client().ttl(redis_key("session-revoked", claims["sid"]))
    assert ttl > 7 * 3600


async def test_purge_expired_refresh_tokens(world: World) -> None:
    user = await _user(world, "rosa")
    live = await sessions.login(username="rosa", password=world.password)
    stale = await sessions.login(username="rosa", password=world.password)
    stale_sid = (await sessions.authenticate_access_token(token=stale.access_token))["sid"]
    await RefreshToken.filter(family=stale_sid).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    assert await sessions.purge_expired_refresh_tokens() >= 1
    assert not await RefreshToken.filter(family=stale_sid).exists()
    assert await RefreshToken.filter(user_id=user.id).count() == 1
    await sessions.refresh(refresh_token=live.refresh_token)
