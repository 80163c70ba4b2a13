"""API keys of a city's integrations: created with a set of roles, shown once, stored
as a keyed hash, revoked by the city's administrator."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

from hotline.platform.crypto import keyed_hash
from hotline.tenants.accounts.common import city_of, now_utc
from hotline.tenants.accounts.models import ApiKey
from hotline.tenants.kernel.access import Action, Actor, require
from hotline.tenants.kernel.audit import record_audit
from hotline.tenants.kernel.errors import AuthFailed, Invalid, NotFound
from hotline.tenants.kernel.roles import Role

API_KEY_TOUCH_SECONDS = 60
BAD_API_KEY = "invalid API key"

_API_KEY_PURPOSE = "api-key"


async def create_api_key(*, actor: Actor, name: str, roles: list[Role]) -> tuple[ApiKey, str]:
    """A key for an integration of the current city; the plaintext is shown only now."""
    require(actor, Action.APIKEY_MANAGE)
    tenant_id, province_id = city_of(actor)
    label = name.strip()
    if not label or len(label) > 100:
        raise Invalid("the name must be 1-100 characters", field="name")
    if not roles:
        raise Invalid("an API key needs at least one role", field="roles")
    if Role.TENANT_ADMIN in roles:
        # A key that could mint keys or users would outlive any person's access.
        raise Invalid("API keys cannot hold the tenant_admin role", field="roles")
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = await ApiKey.create(
        tenant_id=tenant_id,
        province_id=province_id,
        name=label,
        prefix=prefix,
        secret_hash=keyed_hash(secret, _API_KEY_PURPOSE),
        roles=sorted({role.value for role in roles}),
        created_by_id=actor.user_id,
    )
    await record_audit(
        actor_id=actor.user_id,
        action="apikey.create",
        target=prefix,
        detail={"name": label, "roles": key.roles},
        tenant_id=tenant_id,
        province_id=province_id,
    )
    return key, f"hk_{prefix}_{secret}"


async def revoke_api_key(*, actor: Actor, key_id: int) -> ApiKey:
    require(actor, Action.APIKEY_MANAGE)
    tenant_id, province_id = city_of(actor)
    key = await ApiKey.filter(id=key_id, tenant_id=tenant_id).first()
    if key is None:
        raise NotFound("API key", field="keyId")
    if key.revoked_at is None:
        key.revoked_at = now_utc()
        await key.save(update_fields=["revoked_at"])
        await record_audit(
            actor_id=actor.user_id,
            action="apikey.revoke",
            target=key.prefix,
            tenant_id=tenant_id,
            province_id=province_id,
        )
    return key


async def authenticate_api_key(*, plaintext: str, tenant_id: int | None = None) -> ApiKey:
    """The live key ``hk_<prefix>_<secret>`` names; ``tenant_id``, when the request
    selected a city, must be the key's own."""
    parts = plaintext.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != "hk":
        raise AuthFailed(BAD_API_KEY)
    key = await ApiKey.get_or_none(prefix=parts[1])
    presented = keyed_hash(parts[2], _API_KEY_PURPOSE)
    if (
        key is None
        or not hmac.compare_digest(presented, key.secret_hash)
        or key.revoked_at is not None
        or tenant_id not in (None, key.tenant_id)
    ):
        raise AuthFailed(BAD_API_KEY)
    now = now_utc()
    if key.last_used_at is None or now - key.last_used_at > timedelta(
        seconds=API_KEY_TOUCH_SECONDS
    ):
        await ApiKey.filter(id=key.id).update(last_used_at=now)
        key.last_used_at = now
    return key
