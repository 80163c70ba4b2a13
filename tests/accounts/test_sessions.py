"""Login, lockout, rate limits, TOTP, refresh-token families, logout and password reset."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pyotp
import pytest

from hotline.platform import ratelimit
from hotline.platform.redis import key as redis_key
from hotline.platform.redis import redis_client
from hotline.platform.settings import Settings
from hotline.platform.tenancy import use_scope
from hotline.tenants.accounts import memberships, password_reset, sessions, totp, users
from hotline.tenants.accounts.models import Membership, RefreshToken, User
from hotline.tenants.kernel.errors import (
    AuthFailed,
    DomainError,
    Invalid,
    NotFound,
    RateLimited,
    TotpEnrolmentRequired,
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


async def _allow_retry(name: str, ip: str | None = None) -> None:
    """The delay has passed (its key expired), without sleeping through it."""
    keys = [redis_key("backoff", sessions._account_key(name), "until")]
    if ip is not None:
        keys.append(redis_key("backoff", f"login:client:{ip}", "until"))
    for name_ in keys:
        ratelimit._delays.clear(name_)
    await redis_client().delete(*keys)


async def _refusal(name: str, password: str, ip: str) -> DomainError:
    with pytest.raises((AuthFailed, RateLimited)) as caught:
        await sessions.login(username=name, password=password, ip=ip)
    assert isinstance(caught.value, DomainError)
    return caught.value


async def test_failures_slow_down_known_and_unknown_accounts_alike(
    world: World, db: Settings
) -> None:
    """No lock reveals that an account exists: after the free failures, a known and an
    unknown name get the same growing delays and the same answers."""
    await _user(world, "erin")
    free = db.login_max_failures
    for name, ip in (("erin", "10.1.0.1"), ("erin-nobody", "10.1.0.2")):
        seen = []
        if name == "erin":  # a success in between resets the count
            for _ in range(free - 1):
                seen.append(await _refusal(name, "Wrong-Password-1", ip))
            await sessions.login(username="erin", password=world.password, ip=ip)
        for _ in range(free):
            seen.append(await _refusal(name, "Wrong-Password-1", ip))
        # even the right password now waits: one second, then two, four…
        waits = []
        for _ in range(3):
            refused = await _refusal(name, world.password, ip)
            assert isinstance(refused, RateLimited)
            waits.append(refused.params["seconds"])
            await _allow_retry(name)
            seen.append(await _refusal(name, "Wrong-Password-1", ip))
        assert waits == [1, 2, 4]
        assert {(type(e), e.message) for e in seen} == {(AuthFailed, "wrong username or password")}
    # the known account locked nothing and logs in once its delay has passed
    await _allow_retry("erin")
    await sessions.login(username="erin", password=world.password, ip="10.1.0.1")
    erin = await User.get(username="erin")
    assert (erin.failed_logins, erin.locked_until) == (0, None)
    # the success forgot the account's failures: the next wrong one is free again
    assert isinstance(await _refusal("erin", "Wrong-Password-1", "10.1.0.1"), AuthFailed)
    with pytest.raises(AuthFailed):
        await sessions.login(username="erin", password="Wrong-Password-1", ip="10.1.0.3")


async def test_failures_from_one_client_slow_it_down_across_names(
    world: World, db: Settings
) -> None:
    await _user(world, "erik")
    ip = "10.1.1.1"
    for i in range(db.login_max_failures * 4):
        # a different name each time: no account's own delay starts
        assert isinstance(await _refusal(f"spray-{i}", "Wrong-Password-1", ip), AuthFailed)
    refused = await _refusal("erik", world.password, ip)
    assert isinstance(refused, RateLimited)
    # another client is not slowed down, and the account itself was never failed
    await sessions.login(username="erik", password=world.password, ip="10.1.1.2")


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


async def test_admins_must_enrol_totp_after_the_grace_period(
    world: World, setting: Callable[[str, str], None]
) -> None:
    """Past HOTLINE_ADMIN_TOTP_GRACE_DAYS, a city admin's password alone opens nothing but
    the enrolment; an agent is not concerned; a new admin role starts a new grace."""
    admin = await world.member("hank", world.alpha, Role.TENANT_ADMIN)
    agent = await world.member("hank-agent", world.alpha, Role.AGENT)
    # within the grace period (7 days from becoming admin): told to enrol, still let in
    pair = await sessions.login(username=admin.username, password=world.password)
    assert pair.totp_enrolment_required is True
    long_ago = datetime.now(UTC) - timedelta(days=8)
    for user in (admin, agent):
        await User.filter(id=user.id).update(created_at=long_ago)
    with use_scope(world.alpha.scope()):
        await Membership.filter(user_id__in=[admin.id, agent.id]).update(created_at=long_ago)
    with pytest.raises(TotpEnrolmentRequired) as refused:
        await sessions.login(username=admin.username, password=world.password)
    assert refused.value.field == "totpCode"
    # a session started before the deadline cannot be refreshed past it either
    with pytest.raises(TotpEnrolmentRequired):
        await sessions.refresh(refresh_token=pair.refresh_token)
    as_agent = await sessions.login(username=agent.username, password=world.password)
    assert as_agent.totp_enrolment_required is False
    setting("ADMIN_TOTP_GRACE_DAYS", "30")
    longer = await sessions.login(username=admin.username, password=world.password)
    assert longer.totp_enrolment_required is True
    setting("ADMIN_TOTP_GRACE_DAYS", "7")
    # the enrolment flow with name and password (a wrong password opens nothing)
    with pytest.raises(AuthFailed):
        await sessions.enrolling_user(username=admin.username, password="Wrong-Password-1")
    user_id = await sessions.enrolling_user(username=admin.username, password=world.password)
    assert user_id == admin.id
    secret, _ = await totp.begin_totp_enrolment(user_id=user_id)
    await totp.confirm_totp(user_id=user_id, code=_code(secret))
    pair = await sessions.login(
        username=admin.username, password=world.password, totp_code=_code(secret, 1)
    )
    assert pair.totp_enrolment_required is False
    # an agent made admin today has a new grace period: counted from the role's grant
    actor = await world.actor(world.alpha_admin, world.alpha)
    with use_scope(world.alpha.scope(world.alpha_admin.id)):
        await memberships.grant_membership(actor=actor, user_id=agent.id, role=Role.TENANT_ADMIN)
    promoted = await sessions.login(username=agent.username, password=world.password)
    assert promoted.totp_enrolment_required is True


async def test_province_admin_and_operator_are_admins(world: World) -> None:
    pair = await sessions.login(username=world.operator.username, password=world.password)
    assert pair.totp_enrolment_required is True
    agent = await world.member("gina", world.alpha, Role.AGENT)
    assert (
        await sessions.login(username=agent.username, password=world.password)
    ).totp_enrolment_required is False


async def test_refresh_rotates_and_reuse_revokes_the_family(
    world: World, setting: Callable[[str, str], None]
) -> None:
    setting("REFRESH_GRACE_SECONDS", "0")  # reuse at once (the grace window: below)
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


async def test_concurrent_refreshes_of_one_token_share_the_next_pair(world: World) -> None:
    """Five tabs refreshing one session at once all get the same next refresh token (the
    grace window) and nobody is logged out; after the window a reuse still revokes."""
    await _user(world, "iris")
    pair = await sessions.login(username="iris", password=world.password)
    results = await asyncio.gather(
        *(sessions.refresh(refresh_token=pair.refresh_token) for _ in range(5)),
        return_exceptions=True,
    )
    assert all(isinstance(r, sessions.TokenPair) for r in results), results
    pairs = [r for r in results if isinstance(r, sessions.TokenPair)]
    assert len({p.refresh_token for p in pairs}) == 1
    sid = (await sessions.authenticate_access_token(token=pair.access_token))["sid"]
    for p in pairs:
        assert (await sessions.authenticate_access_token(token=p.access_token))["sid"] == sid
    assert await RefreshToken.filter(family=sid).count() == 2
    successor = await sessions.refresh(refresh_token=pairs[0].refresh_token)
    # the window has passed for the first token (its rotation 11 s ago): a copy
    await RefreshToken.filter(family=sid, used_at__isnull=False).update(
        used_at=datetime.now(UTC) - timedelta(seconds=11)
    )
    with pytest.raises(AuthFailed):
        await sessions.refresh(refresh_token=pair.refresh_token)
    assert await sessions.is_session_revoked(sid=sid)
    await _refused(successor.access_token)


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
