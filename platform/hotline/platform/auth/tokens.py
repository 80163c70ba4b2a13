"""Access tokens: ES256 JWTs signed with keys every API replica reads from the database.

The newest active :class:`SigningKey` signs; rotated keys keep verifying until their
``expires_at`` (so tokens issued just before a rotation stay valid), and :func:`jwks`
publishes the same set. Replicas cache the key set for ``KEY_CACHE_SECONDS``; a token
naming a key the cache does not know triggers one early reload, so a key created by
another replica is accepted at once.

Bearer tokens of an external OpenID Connect issuer are checked against that issuer's
published JWKS by :func:`verify_external_token`.
"""

from __future__ import annotations

import enum
import json
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    InvalidKeyIdError,
    JoseError,
)
from joserfc.jwk import ECKey, KeySet, generate_key, import_key
from joserfc.jwt import ClaimsOption, JWTClaimsRegistry
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from hotline.platform import clock
from hotline.platform.auth.models import SigningKey
from hotline.platform.crypto import decrypt, encrypt
from hotline.platform.settings import get_settings
from hotline.platform.tenancy import Scope, use_scope

ALGORITHM = "ES256"
ACCESS_TYPE = "access"
KEY_CACHE_SECONDS = 30.0
# A flood of tokens with made-up key ids must not turn into a flood of reloads.
UNKNOWN_KEY_RELOAD_SECONDS = 1.0
# Tolerated clock difference between the replica that issued a token and the one checking it.
LEEWAY_SECONDS = 10

EXTERNAL_ALGORITHMS = (
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "Ed25519",
)  # fmt: skip
JWKS_CACHE_SECONDS = 300.0
# At most one refetch per issuer in this time for tokens naming a key we do not know.
JWKS_REFETCH_SECONDS = 10.0
JWKS_TIMEOUT_SECONDS = 5.0
# Clocks of external issuers are not ours to keep in sync.
EXTERNAL_LEEWAY_SECONDS = 60

_RESERVED = frozenset({"iss", "sub", "aud", "iat", "nbf", "exp", "jti", "typ"})
# pg_advisory_xact_lock key: serializes key creation between replicas starting together.
_KEY_LOCK = 7_245_001


class TokenProblem(enum.StrEnum):
    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad_signature"
    UNKNOWN_KEY = "unknown_key"
    EXPIRED = "expired"
    WRONG_ISSUER = "wrong_issuer"
    WRONG_AUDIENCE = "wrong_audience"
    WRONG_TYPE = "wrong_type"
    INVALID_CLAIMS = "invalid_claims"
    KEYS_UNAVAILABLE = "keys_unavailable"


class TokenError(Exception):
    """A token that must not be accepted; ``reason`` says why (for logs and clients)."""

    def __init__(self, reason: TokenProblem, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason


def _now() -> datetime:
    return clock.now()


# --- our own signing keys -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _KeySnapshot:
    # The database the keys came from: a process that switches databases (tests, the
    # dev runner) must not keep signing with another database's key.
    database: str
    loaded_at: float
    signing_kid: str | None
    signing_key: ECKey | None
    verifying: KeySet
    public: list[dict[str, Any]]


@dataclass(slots=True)
class _KeyCache:
    snapshot: _KeySnapshot | None = None
    last_forced: float = 0.0

    async def get(self, *, force: bool = False) -> _KeySnapshot:
        database = get_settings().app_database_url()
        snap = self.snapshot
        if (
            not force
            and snap is not None
            and snap.database == database
            and clock.monotonic() - snap.loaded_at < KEY_CACHE_SECONDS
        ):
            return snap
        snap = self.snapshot = await _load_keys(database)
        return snap

    async def reload_for_unknown_key(self) -> _KeySnapshot | None:
        """A new snapshot, unless one was forced less than a second ago."""
        if clock.monotonic() - self.last_forced < UNKNOWN_KEY_RELOAD_SECONDS:
            return None
        self.last_forced = clock.monotonic()
        return await self.get(force=True)

    def forget(self) -> None:
        self.snapshot = None


_keys = _KeyCache()


async def _load_keys(database: str) -> _KeySnapshot:
    with use_scope(Scope.platform()):
        rows = await SigningKey.filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=_now())
        ).order_by("-created_at", "-id")
    signer = next((row for row in rows if row.retired_at is None), None)
    signing_key = (
        import_key(json.loads(decrypt(signer.private_jwk)), "EC") if signer is not None else None
    )
    return _KeySnapshot(
        database=database,
        loaded_at=clock.monotonic(),
        signing_kid=signer.kid if signer is not None else None,
        signing_key=signing_key,
        verifying=KeySet([import_key(row.public_jwk, "EC") for row in rows]),
        public=[dict(row.public_jwk) for row in rows],
    )


async def _create_key() -> SigningKey:
    key = generate_key("EC", "P-256", parameters={"alg": ALGORITHM, "use": "sig"}, auto_kid=True)
    assert key.kid is not None
    return await SigningKey.create(
        kid=key.kid,
        algorithm=ALGORITHM,
        private_jwk=encrypt(json.dumps(key.as_dict(private=True))),
        public_jwk=key.as_dict(private=False),
    )


async def ensure_signing_key() -> str:
    """The kid of the active signing key, creating one when there is none."""
    with use_scope(Scope.platform()):
        async with in_transaction("default") as conn:
            await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [_KEY_LOCK])
            active = await SigningKey.filter(retired_at__isnull=True).first()
            kid = active.kid if active is not None else (await _create_key()).kid
    _keys.forget()
    return kid


async def rotate_signing_key(*, retire_after: timedelta) -> str:
    """A new key signs from now on; the previous ones verify for ``retire_after`` more.

    ``retire_after`` should exceed the access-token lifetime plus ``KEY_CACHE_SECONDS``,
    during which other replicas may still sign with the previous key.
    """
    now = _now()
    with use_scope(Scope.platform()):
        async with in_transaction("default") as conn:
            await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [_KEY_LOCK])
            await SigningKey.filter(retired_at__isnull=True).update(
                retired_at=now, expires_at=now + retire_after
            )
            kid = (await _create_key()).kid
    _keys.forget()
    return kid


async def jwks() -> dict[str, Any]:
    """The public keys that verify our tokens, for ``/.well-known/jwks.json``."""
    return {"keys": (await _keys.get()).public}


async def issue_access_token(
    *, user_id: int, username: str, ttl: timedelta, extra: dict[str, Any] | None = None
) -> str:
    """A signed access token; ``extra`` claims cannot override the registered ones."""
    snap = await _keys.get()
    if snap.signing_key is None:
        await ensure_signing_key()
        snap = await _keys.get()
    assert snap.signing_key is not None
    issued = int(time.time())
    claims: dict[str, Any] = {
        **{k: v for k, v in (extra or {}).items() if k not in _RESERVED},
        "iss": get_settings().jwt_issuer,
        "sub": str(user_id),
        "iat": issued,
        "exp": issued + int(ttl.total_seconds()),
        "jti": secrets.token_urlsafe(16),
        "typ": ACCESS_TYPE,
        "name": username,
    }
    header = {"alg": ALGORITHM, "kid": snap.signing_kid}
    return jwt.encode(header, claims, snap.signing_key, algorithms=[ALGORITHM])


def _decode(token: str, key: KeySet, algorithms: list[str] | tuple[str, ...]) -> dict[str, Any]:
    try:
        return jwt.decode(token, key, algorithms=algorithms).claims
    except InvalidKeyIdError as exc:
        raise TokenError(TokenProblem.UNKNOWN_KEY) from exc
    except BadSignatureError as exc:
        raise TokenError(TokenProblem.BAD_SIGNATURE) from exc
    except (JoseError, ValueError, TypeError) as exc:
        raise TokenError(TokenProblem.MALFORMED, str(exc)) from exc


_CLAIM_PROBLEMS = {
    "iss": TokenProblem.WRONG_ISSUER,
    "aud": TokenProblem.WRONG_AUDIENCE,
    "typ": TokenProblem.WRONG_TYPE,
}


def _validate(claims: dict[str, Any], *, leeway: int, **options: ClaimsOption) -> None:
    try:
        JWTClaimsRegistry(None, leeway, **options).validate(claims)
    except ExpiredTokenError as exc:
        raise TokenError(TokenProblem.EXPIRED) from exc
    except ClaimError as exc:
        problem = _CLAIM_PROBLEMS.get(exc.claim, TokenProblem.INVALID_CLAIMS)
        raise TokenError(problem, exc.claim) from exc


async def verify_access_token(token: str) -> dict[str, Any]:
    """The claims of a valid access token of ours; raises :class:`TokenError` otherwise."""
    snap = await _keys.get()
    try:
        claims = _decode(token, snap.verifying, [ALGORITHM])
    except TokenError as exc:
        if exc.reason is not TokenProblem.UNKNOWN_KEY:
            raise
        reloaded = await _keys.reload_for_unknown_key()
        if reloaded is None:
            raise
        claims = _decode(token, reloaded.verifying, [ALGORITHM])
    _validate(
        claims,
        leeway=LEEWAY_SECONDS,
        iss={"essential": True, "value": get_settings().jwt_issuer},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        jti={"essential": True},
        typ={"essential": True, "value": ACCESS_TYPE},
    )
    return claims


# --- external OpenID Connect issuers --------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Jwks:
    keys: KeySet
    fetched_at: float
    # When an unknown kid last forced a refetch.
    forced_at: float = float("-inf")


_external: dict[str, _Jwks] = {}


async def _fetch_jwks(jwks_uri: str) -> KeySet:
    try:
        async with httpx.AsyncClient(timeout=JWKS_TIMEOUT_SECONDS) as client:
            response = await client.get(jwks_uri, headers={"Accept": "application/json"})
            response.raise_for_status()
            return KeySet.import_key_set(response.json())
    except (httpx.HTTPError, JoseError, ValueError, KeyError, TypeError) as exc:
        raise TokenError(TokenProblem.KEYS_UNAVAILABLE, f"{jwks_uri}: {exc}") from exc


async def _external_keys(jwks_uri: str, *, refetch: bool = False) -> KeySet | None:
    """The issuer's key set (cached); None when a forced refetch comes too soon."""
    cached = _external.get(jwks_uri)
    now = clock.monotonic()
    if cached is not None:
        if not refetch and now - cached.fetched_at < JWKS_CACHE_SECONDS:
            return cached.keys
        if refetch and now - cached.forced_at < JWKS_REFETCH_SECONDS:
            return None
    try:
        keys = await _fetch_jwks(jwks_uri)
    except TokenError:
        if cached is None:
            raise
        # An issuer briefly down should not log everyone out: keep its last known keys,
        # and wait a full cache period before asking it again.
        keys = cached.keys
    forced = now if refetch else (cached.forced_at if cached is not None else float("-inf"))
    _external[jwks_uri] = _Jwks(keys=keys, fetched_at=now, forced_at=forced)
    return keys


async def verify_external_token(
    token: str, *, issuer: str, audience: str | None, jwks_uri: str
) -> dict[str, Any]:
    """The claims of an external issuer's token, checked against its JWKS, iss, aud and exp."""
    keys = await _external_keys(jwks_uri)
    assert keys is not None
    try:
        claims = _decode(token, keys, EXTERNAL_ALGORITHMS)
    except TokenError as exc:
        if exc.reason is not TokenProblem.UNKNOWN_KEY:
            raise
        # The issuer may have rotated its keys since we fetched them.
        refetched = await _external_keys(jwks_uri, refetch=True)
        if refetched is None:
            raise
        claims = _decode(token, refetched, EXTERNAL_ALGORITHMS)
    options: dict[str, ClaimsOption] = {
        "iss": {"essential": True, "value": issuer},
        "sub": {"essential": True},
        "exp": {"essential": True},
    }
    if audience is not None:
        options["aud"] = {"essential": True, "value": audience}
    _validate(claims, leeway=EXTERNAL_LEEWAY_SECONDS, **options)
    return claims
