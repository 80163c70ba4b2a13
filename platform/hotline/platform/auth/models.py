"""Signing keys for access tokens, shared by every API replica through the database."""

from __future__ import annotations

from typing import Any

from tortoise import fields

from hotline.platform.db.models import Model


class SigningKey(Model):
    kid = fields.CharField(max_length=64, unique=True)
    algorithm = fields.CharField(max_length=10, default="ES256")
    # The private JWK, encrypted with the data keys.
    private_jwk = fields.TextField()
    public_jwk: Any = fields.JSONField()
    # The newest active key signs; retired keys still verify until ``expires_at``.
    retired_at = fields.DatetimeField(null=True)
    expires_at = fields.DatetimeField(null=True)

    class Meta:
        table = "signing_keys"
