"""Log in through a province's OpenID Connect provider (Authlib's Starlette client).

``GET /auth/oidc/{province}/login`` redirects to the provider; its callback maps the
identity (``issuer|sub``) to a linked Hotline user and answers with our token pair.
Bearer tokens of the same issuer are accepted directly (``accounts.identity``).
"""

from __future__ import annotations

import warnings

import authlib.deprecate  # noqa: F401  (its "always" filter first: the one below wins)

with warnings.catch_warnings():
    # authlib 1.9 warns on every process start that its httpx fallback will go (httpx2 is
    # its future); nothing for an operator to act on, so the console stays quiet
    warnings.filterwarnings("ignore", "The httpx module is deprecated", DeprecationWarning)
    from authlib.integrations.starlette_client import OAuth, OAuthError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.accounts import sessions
from hotline.tenants.kernel.errors import DomainError
from hotline.tenants.provinces.models import Province


async def _client(slug: str) -> tuple[Province, object] | None:
    province = await Province.get_or_none(slug=slug)
    if province is None or not province.oidc.get("issuer"):
        return None
    cfg = province.oidc
    oauth = OAuth()
    oauth.register(
        name=slug,
        client_id=cfg.get("client_id"),
        client_secret=cfg.get("client_secret"),
        server_metadata_url=cfg.get("metadata_url")
        or cfg["issuer"].rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={"scope": "openid profile email"},
    )
    return province, oauth.create_client(slug)


def _not_found() -> JSONResponse:
    return JSONResponse(
        {"errors": [{"message": "province not found", "extensions": {"code": "NOT_FOUND"}}]},
        status_code=404,
    )


async def login(request: Request) -> Response:
    found = await _client(request.path_params["province"])
    if found is None:
        return _not_found()
    _, client = found
    redirect_uri = str(request.url_for("oidc_callback", province=request.path_params["province"]))
    response: Response = await client.authorize_redirect(request, redirect_uri)  # type: ignore[attr-defined]
    return response


async def callback(request: Request) -> Response:
    found = await _client(request.path_params["province"])
    if found is None:
        return _not_found()
    province, client = found
    try:
        token = await client.authorize_access_token(request)  # type: ignore[attr-defined]
    except OAuthError as exc:
        return JSONResponse(
            {
                "errors": [
                    {"message": exc.description or exc.error, "extensions": {"code": "AUTH_FAILED"}}
                ]
            },
            status_code=401,
        )
    userinfo = token.get("userinfo") or {}
    try:
        with use_scope(Scope.platform()):
            pair = await sessions.start_external_session(
                external_id=f"{province.oidc['issuer']}|{userinfo.get('sub')}"
            )
    except DomainError as exc:
        return JSONResponse(
            {"errors": [{"message": exc.message, "extensions": exc.extensions}]}, status_code=401
        )
    return JSONResponse(
        {
            "accessToken": pair.access_token,
            "refreshToken": pair.refresh_token,
            "expiresIn": pair.expires_in,
        }
    )


def routes() -> list[Route]:
    return [
        Route("/auth/oidc/{province}/login", login, name="oidc_login"),
        Route("/auth/oidc/{province}/callback", callback, name="oidc_callback"),
    ]
