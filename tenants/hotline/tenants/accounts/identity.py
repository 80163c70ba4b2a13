"""From credentials to an :class:`Actor` in a city: what the request middleware calls.

A caller names a city (header, host) and must be a member of it or an admin of its
province; otherwise the city is NotFound, exactly as if it did not exist.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import time

from hotline.platform.auth.tokens import TokenError, verify_external_token
from hotline.platform.db.rows import Hydrator, read_session
from hotline.platform.settings import get_settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.accounts import api_keys, memberships, sessions
from hotline.tenants.accounts.models import ApiKey, User
from hotline.tenants.kernel.access import Actor
from hotline.tenants.kernel.errors import AuthFailed, NotFound
from hotline.tenants.kernel.roles import Role
from hotline.tenants.provinces.current import remember
from hotline.tenants.provinces.models import Province, Tenant


async def find_tenant(tenant_ref: str) -> Tenant:
    query = Tenant.filter(is_active=True)
    tenant = await (
        query.filter(code=tenant_ref) if tenant_ref.isdigit() else query.filter(slug=tenant_ref)
    ).first()
    if tenant is None:
        raise NotFound("city")
    remember(tenant)  # the request's later reads of this row (provinces.current)
    return tenant


TENANTS = Hydrator(Tenant)
# A signed-in caller entering a city, in one statement: the city (active, by code or
# slug), the user (active), the provinces it administers and its active memberships in
# that city. Run under a platform scope naming the user: memberships are row-level
# secured with an own-rows clause; users, tenants and province roles are not.
_ENTER = """
SELECT {tenant}, u.username AS "user_name", u.is_platform_operator AS "user_operator",
  ARRAY(SELECT pr.province_id FROM province_roles pr
        WHERE pr.user_id = u.id AND pr.role = 'province_admin') AS "admin_of",
  ARRAY(SELECT m.role FROM memberships m
        WHERE m.user_id = u.id AND m.tenant_id = t.id AND m.is_active
        ORDER BY m.id) AS "member_roles",
  ARRAY(SELECT m.department_id FROM memberships m
        WHERE m.user_id = u.id AND m.tenant_id = t.id AND m.is_active
          AND m.department_id IS NOT NULL) AS "member_departments"
FROM (SELECT 1) one
LEFT JOIN tenants t ON t.is_active AND (t.code = $2 OR t.slug = $3)
LEFT JOIN users u ON u.id = $1 AND u.is_active
"""


async def _enter_city(user_id: int, tenant_ref: str) -> Actor:
    """:func:`memberships.load_actor` for a city named by the caller, in one round trip:
    a city that does not exist, is inactive or is not the caller's (no membership, not
    its province's admin) is NotFound("city") alike; a disabled account is AuthFailed."""
    code, slug = (tenant_ref, None) if tenant_ref.isdigit() else (None, tenant_ref)
    with use_scope(Scope.platform(user_id=user_id)):
        async with read_session() as reads:
            row = (
                await reads.fetch(_ENTER.format(tenant=TENANTS.select("t")), user_id, code, slug)
            )[0]
    tenant = TENANTS.part(row)
    if tenant is None:
        raise NotFound("city")
    remember(tenant)  # the request's later reads of this row (provinces.current)
    if row["user_name"] is None:
        raise AuthFailed("the account is disabled")
    admin_of = frozenset(int(p) for p in row["admin_of"])
    roles = row["member_roles"]
    if not roles and tenant.province_id not in admin_of:
        raise NotFound("city")
    return Actor(
        user_id=user_id,
        tenant_id=tenant.id,
        province_id=tenant.province_id,
        roles=frozenset(Role(r) for r in roles),
        department_ids=frozenset(int(d) for d in row["member_departments"]),
        province_admin_of=admin_of,
        platform_operator=row["user_operator"],
        username=row["user_name"],
    )


async def _enter(user_id: int, tenant_ref: str | None) -> Actor:
    if tenant_ref is None:
        return await memberships.load_actor(user_id=user_id, tenant_id=None, province_id=None)
    return await _enter_city(user_id, tenant_ref)


def _unverified_issuer(token: str) -> str | None:
    """The ``iss`` claim, read without verification only to pick the verifier."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None
    issuer = claims.get("iss") if isinstance(claims, dict) else None
    return issuer if isinstance(issuer, str) else None


async def actor_for_bearer(*, token: str, tenant_ref: str | None) -> Actor:
    settings = get_settings()
    issuer = _unverified_issuer(token)
    if issuer is not None and issuer != settings.jwt_issuer:
        user_id, expires = await _external_user(token, issuer)
        return dataclasses.replace(await _enter(user_id, tenant_ref), expires_at=expires)
    claims = await sessions.authenticate_access_token(token=token)
    actor = await _enter(int(claims["sub"]), tenant_ref)
    sid = claims.get("sid")
    return dataclasses.replace(
        actor, session_id=sid if isinstance(sid, str) else None, expires_at=float(claims["exp"])
    )


async def _external_user(token: str, issuer: str) -> tuple[int, float | None]:
    """A bearer token from a province's OpenID Connect issuer, mapped to our user
    (and the token's expiry)."""
    for province in await Province.all():
        oidc = province.oidc or {}
        if oidc.get("issuer") != issuer:
            continue
        try:
            claims = await verify_external_token(
                token,
                issuer=issuer,
                audience=oidc.get("audience"),
                jwks_uri=oidc["jwks_uri"],
            )
        except TokenError as exc:
            raise AuthFailed("invalid access token: {error}", error=str(exc)) from exc
        user = await User.get_or_none(external_id=f"{issuer}|{claims['sub']}", is_active=True)
        if user is None:
            raise AuthFailed("no account is linked to this identity")
        exp = claims.get("exp")
        return int(user.id), float(exp) if isinstance(exp, int | float) else None
    raise AuthFailed("invalid access token: unknown issuer")


async def actor_for_api_key(*, plaintext: str, tenant_ref: str | None) -> Actor:
    tenant_id = (await find_tenant(tenant_ref)).id if tenant_ref is not None else None
    key = await api_keys.authenticate_api_key(plaintext=plaintext, tenant_id=tenant_id)
    return await memberships.actor_for_api_key(key=key)


async def anonymous_in(*, tenant_ref: str) -> Actor:
    """No credentials, a city named: public faces only (citizen lookup, login)."""
    tenant = await find_tenant(tenant_ref)
    return Actor(user_id=None, tenant_id=tenant.id, province_id=tenant.province_id)


async def still_allowed(actor: Actor) -> bool:
    """Whether a long-lived connection's actor still stands: its token has not expired,
    its session was not ended (logout, password change, refresh reuse), the user is
    active and still a member of the city (or admin of its province), the API key is
    not revoked.

    Live subscriptions call this before each event and on a timer, so any of these ends
    them promptly instead of when the socket closes.
    """
    if actor.expires_at is not None and actor.expires_at <= time.time():
        return False
    if actor.session_id is not None and await sessions.is_session_revoked(sid=actor.session_id):
        return False
    try:
        if actor.api_key_id is not None:
            return await ApiKey.exists(id=actor.api_key_id, revoked_at=None)
        if actor.user_id is None:
            return True  # an anonymous public face holds nothing to revoke
        if actor.tenant_id is None or actor.province_id is None:
            await memberships.load_actor(
                user_id=actor.user_id, tenant_id=None, province_id=actor.province_id
            )
            return True
        with use_scope(Scope.city(actor.tenant_id, actor.province_id, actor.user_id)):
            await memberships.load_actor(
                user_id=actor.user_id, tenant_id=actor.tenant_id, province_id=actor.province_id
            )
    except (NotFound, AuthFailed):
        return False
    return True
