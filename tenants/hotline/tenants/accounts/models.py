"""People and what they may do: users, memberships, province roles, API keys, sessions."""

from __future__ import annotations

from typing import Any

from tortoise import fields

from hotline.platform.db.models import Model, TenantModel
from hotline.tenants.kernel.roles import PlatformRole, Role


class User(Model):
    """A person. Global: one person may serve several cities; authentication precedes
    any tenant, so this table is not row-level secured (only auth code reads it)."""

    username = fields.CharField(max_length=64, unique=True)
    display_name = fields.CharField(max_length=100)
    email = fields.CharField(max_length=254, null=True)
    locale = fields.CharField(max_length=10, default="zh-CN")
    password_hash = fields.CharField(max_length=200, null=True)
    password_changed_at = fields.DatetimeField(null=True)
    is_active = fields.BooleanField(default=True)
    is_platform_operator = fields.BooleanField(default=False)
    failed_logins = fields.IntField(default=0)
    locked_until = fields.DatetimeField(null=True)
    totp_secret = fields.CharField(max_length=200, null=True)  # encrypted
    totp_enabled = fields.BooleanField(default=False)
    # The subject at an external OIDC issuer, "issuer|sub".
    external_id = fields.CharField(max_length=300, null=True, unique=True)
    # The city whose administrator created this user (NULL: platform, province or CLI).
    # Users are global, so a city may only give roles to people it created or employs.
    created_in_tenant_id = fields.BigIntField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "users"


class ProvinceRole(Model):
    """A province-level role (province admin) — the province scope's membership."""

    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "accounts.User", related_name="province_roles", on_delete=fields.CASCADE
    )
    province_id = fields.BigIntField(db_index=True)
    role = fields.CharEnumField(PlatformRole, max_length=20)

    class Meta:
        table = "province_roles"
        unique_together = (("user", "province_id", "role"),)


class Membership(TenantModel):
    """A user's role in one city, optionally limited to a department's subtree."""

    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "accounts.User", related_name="memberships", on_delete=fields.CASCADE
    )
    user_id: int
    role = fields.CharEnumField(Role, max_length=20)
    department_id = fields.BigIntField(null=True)
    is_active = fields.BooleanField(default=True)

    class Meta:
        table = "memberships"
        # unique (tenant, user, role, department) NULLS NOT DISTINCT: in the migration


class ApiKey(Model):
    """An integration's key: scoped to one city and a set of roles; only a hash is kept.

    Looked up before any tenant is known (it names the tenant), so like users it is
    not row-level secured; listings filter by the current city explicitly.
    """

    tenant_id = fields.BigIntField(db_index=True)
    province_id = fields.BigIntField()
    name = fields.CharField(max_length=100)
    prefix = fields.CharField(max_length=16, unique=True)
    secret_hash = fields.CharField(max_length=128)
    roles: Any = fields.JSONField(default=list)
    created_by_id = fields.BigIntField(null=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_keys"


class RefreshToken(Model):
    """One refresh token of a login session; rotation replaces it, reuse revokes the family."""

    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "accounts.User", related_name="refresh_tokens", on_delete=fields.CASCADE
    )
    user_id: int
    family = fields.UUIDField(db_index=True)
    token_hash = fields.CharField(max_length=128, unique=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "refresh_tokens"
