"""Access tokens, signing-key rotation and external OIDC tokens, against real servers."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey, generate_key, import_key

from hotline.platform.auth.models import SigningKey
from hotline.platform.auth.tokens import (
    TokenError,
    TokenProblem,
    ensure_signing_key,
    issue_access_token,
    jwks,
    rotate_signing_key,
    verify_access_token,
    verify_external_token,
)
from hotline.platform.crypto import decrypt, encrypt
from hotline.platform.settings import Settings
from hotline.platform.tenancy import Scope, use_scope

TTL = timedelta(minutes=5)


async def _token(**extra: Any) -> str:
    return await issue_access_token(user_id=7, username="alice", ttl=TTL, extra=extra or None)


async def _problem(token: str) -> TokenProblem:
    with pytest.raises(TokenError) as caught:
        await verify_access_token(token)
    return caught.value.reason


async def _active_key() -> tuple[str, ECKey]:
    with use_scope(Scope.platform()):
        row = await SigningKey.filter(retired_at__isnull=True).order_by("-created_at").first()
    assert row is not None
    return row.kid, import_key(json.loads(decrypt(row.private_jwk)), "EC")


def _claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": "hotline",
        "sub": "7",
        "iat": now,
        "exp": now + 300,
        "jti": "j1",
        "typ": "access",
        "name": "alice",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


async def test_issue_and_verify(db: Settings) -> None:
    token = await _token(sid="s-1", iss="evil", typ="refresh")
    claims = await verify_access_token(token)
    assert claims["sub"] == "7"
    assert claims["name"] == "alice"
    assert claims["iss"] == db.jwt_issuer
    # extra claims cannot override the registered ones
    assert claims["typ"] == "access"
    assert claims["sid"] == "s-1"
    assert claims["exp"] - claims["iat"] == 300
    kid, _ = await _active_key()
    assert [k["kid"] for k in (await jwks())["keys"]] == [kid]
    assert all("d" not in k for k in (await jwks())["keys"])


async def test_ensure_signing_key_is_idempotent_under_concurrency(db: Settings) -> None:
    kids = await asyncio.gather(*(ensure_signing_key() for _ in range(5)))
    assert len(set(kids)) == 1
    with use_scope(Scope.platform()):
        assert await SigningKey.filter(retired_at__isnull=True).count() == 1


async def test_expired_token_refused(db: Settings) -> None:
    token = await issue_access_token(user_id=7, username="alice", ttl=timedelta(seconds=-60))
    assert await _problem(token) is TokenProblem.EXPIRED


async def test_tampered_token_refused(db: Settings) -> None:
    header, payload, signature = (await _token()).split(".")
    forged = jwt.encode({"alg": "ES256"}, _claims(sub="1"), generate_key("EC", "P-256"))
    assert await _problem(f"{header}.{forged.split('.')[1]}.{signature}") is (
        TokenProblem.BAD_SIGNATURE
    )
    assert await _problem(f"{header}.{payload}.{signature[:-4]}AAAA") is TokenProblem.BAD_SIGNATURE
    assert await _problem("not-a-token") is TokenProblem.MALFORMED
    assert await _problem(f"{header}.{payload}") is TokenProblem.MALFORMED


async def test_alg_none_and_symmetric_tokens_refused(db: Settings) -> None:
    kid, _ = await _active_key()
    unsigned = jwt.encode(
        {"alg": "HS256", "kid": kid}, _claims(), generate_key("oct", 256), algorithms=["HS256"]
    )
    assert await _problem(unsigned) is TokenProblem.MALFORMED
    header, payload, _ = (await _token()).split(".")
    assert await _problem(f"{header}.{payload}.") is TokenProblem.BAD_SIGNATURE


async def test_wrong_issuer_and_wrong_type_refused(db: Settings) -> None:
    kid, key = await _active_key()
    other_issuer = jwt.encode({"alg": "ES256", "kid": kid}, _claims(iss="someone-else"), key)
    assert await _problem(other_issuer) is TokenProblem.WRONG_ISSUER
    refresh_typed = jwt.encode({"alg": "ES256", "kid": kid}, _claims(typ="refresh"), key)
    assert await _problem(refresh_typed) is TokenProblem.WRONG_TYPE
    no_subject = jwt.encode({"alg": "ES256", "kid": kid}, _claims(sub=None), key)
    assert await _problem(no_subject) is TokenProblem.INVALID_CLAIMS
    future = jwt.encode({"alg": "ES256", "kid": kid}, _claims(iat=int(time.time()) + 3600), key)
    assert await _problem(future) is TokenProblem.INVALID_CLAIMS


async def test_unknown_kid_refused(db: Settings) -> None:
    stranger = generate_key("EC", "P-256")
    token = jwt.encode({"alg": "ES256", "kid": "not-ours"}, _claims(), stranger)
    assert await _problem(token) is TokenProblem.UNKNOWN_KEY
    # our kid, someone else's key
    kid, _ = await _active_key()
    token = jwt.encode({"alg": "ES256", "kid": kid}, _claims(), stranger)
    assert await _problem(token) is TokenProblem.BAD_SIGNATURE


async def test_rotation_keeps_old_tokens_verifying_until_they_expire(db: Settings) -> None:
    old_kid, _ = await _active_key()
    old_token = await _token()
    new_kid = await rotate_signing_key(retire_after=timedelta(hours=1))
    assert new_kid != old_kid
    new_token = await _token()
    assert (await verify_access_token(old_token))["sub"] == "7"
    assert (await verify_access_token(new_token))["sub"] == "7"
    published = {k["kid"] for k in (await jwks())["keys"]}
    assert {old_kid, new_kid} <= published
    # Rotating again with no grace period drops new_kid at once; old_kid keeps its hour.
    newest = await rotate_signing_key(retire_after=timedelta(0))
    assert await _problem(new_token) is TokenProblem.UNKNOWN_KEY
    assert (await verify_access_token(old_token))["sub"] == "7"
    published = {k["kid"] for k in (await jwks())["keys"]}
    assert published == {old_kid, newest}


async def test_key_created_by_another_replica_is_picked_up(db: Settings) -> None:
    await verify_access_token(await _token())  # warm this process's key cache
    key = generate_key("EC", "P-256", parameters={"alg": "ES256", "use": "sig"}, auto_kid=True)
    assert key.kid is not None
    with use_scope(Scope.platform()):
        await SigningKey.create(
            kid=key.kid,
            private_jwk=encrypt(json.dumps(key.as_dict(private=True))),
            public_jwk=key.as_dict(private=False),
        )
    await asyncio.sleep(1.1)  # the unknown-kid reload is throttled to once a second
    token = jwt.encode({"alg": "ES256", "kid": key.kid}, _claims(), key)
    assert (await verify_access_token(token))["jti"] == "j1"


# --- external OpenID Connect issuer ---------------------------------------------------


class _Issuer:
    """A local HTTP server publishing a JWKS, counting how often it is fetched."""

    def __init__(self) -> None:
        self.key: RSAKey = generate_key("RSA", 2048, parameters={"kid": "idp-1"})
        self.published: list[RSAKey] = [self.key]
        self.fetches = 0
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                issuer.fetches += 1
                if self.path != "/jwks.json":
                    self.send_error(404)
                    return
                body = json.dumps(
                    {"keys": [k.as_dict(private=False) for k in issuer.published]}
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def token(self, key: RSAKey | None = None, **changes: Any) -> str:
        now = int(time.time())
        claims = {"iss": self.url, "sub": "ext-42", "aud": "hotline", "iat": now, "exp": now + 300}
        claims.update(changes)
        signer = key or self.key
        return jwt.encode({"alg": "RS256", "kid": signer.kid}, claims, signer)


@pytest.fixture(scope="module")
def issuer() -> Iterator[_Issuer]:
    idp = _Issuer()
    idp.thread.start()
    yield idp
    idp.server.shutdown()
    idp.server.server_close()
    idp.thread.join()


async def _external(idp: _Issuer, token: str, audience: str | None = "hotline") -> dict[str, Any]:
    return await verify_external_token(
        token, issuer=idp.url, audience=audience, jwks_uri=f"{idp.url}/jwks.json"
    )


async def _external_problem(idp: _Issuer, token: str, audience: str | None = "hotline") -> str:
    with pytest.raises(TokenError) as caught:
        await _external(idp, token, audience)
    return caught.value.reason


async def test_external_token_verified_against_issuer_jwks(issuer: _Issuer) -> None:
    claims = await _external(issuer, issuer.token())
    assert claims["sub"] == "ext-42"
    assert issuer.fetches == 1
    # a list audience and no audience check both work; the JWKS stays cached
    assert (await _external(issuer, issuer.token(aud=["x", "hotline"])))["sub"] == "ext-42"
    assert (await _external(issuer, issuer.token(aud="x"), audience=None))["sub"] == "ext-42"
    assert issuer.fetches == 1


async def test_external_token_refusals(issuer: _Issuer) -> None:
    assert await _external_problem(issuer, issuer.token(aud="other")) == "wrong_audience"
    assert await _external_problem(issuer, issuer.token(iss="https://evil")) == "wrong_issuer"
    expired = issuer.token(exp=int(time.time()) - 600)
    assert await _external_problem(issuer, expired) == "expired"
    stranger = generate_key("RSA", 2048, parameters={"kid": "idp-1"})
    assert await _external_problem(issuer, issuer.token(key=stranger)) == "bad_signature"
    header, payload, signature = issuer.token().split(".")
    assert await _external_problem(issuer, f"{header}.{payload}.x{signature}") == "bad_signature"


async def test_external_issuer_key_rotation_and_unknown_keys(issuer: _Issuer) -> None:
    rotated = generate_key("RSA", 2048, parameters={"kid": "idp-2"})
    issuer.published = [issuer.key, rotated]
    before = issuer.fetches
    assert (await _external(issuer, issuer.token(key=rotated)))["sub"] == "ext-42"
    assert issuer.fetches == before + 1
    # a made-up kid right after: refused without another fetch (one forced fetch per 10 s)
    unknown = generate_key("RSA", 2048, parameters={"kid": "idp-9"})
    assert await _external_problem(issuer, issuer.token(key=unknown)) == "unknown_key"
    assert issuer.fetches == before + 1


async def test_external_jwks_unreachable(db: Settings) -> None:
    with pytest.raises(TokenError) as caught:
        await verify_external_token(
            "a.b.c", issuer="https://idp", audience=None, jwks_uri="http://127.0.0.1:1/jwks"
        )
    assert caught.value.reason is TokenProblem.KEYS_UNAVAILABLE
