"""The WeChat official account's callback: ``GET /channels/wechat/{city}`` answers the
server check (``echostr``), ``POST`` takes a message — plain, or encrypted (安全模式)
when the city set an EncodingAESKey. Both are signed by WeChat with the city's token
(:mod:`hotline.tenants.channels.wechat`); a refusal (signature, window, a replayed nonce)
is 403 and stores nothing, an outage 503 (WeChat retries), a message taken answers
``success`` at once (media are fetched by a job)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from hotline.platform import clock
from hotline.platform.faults import is_transient
from hotline.platform.tenancy import Scope, use_scope
from hotline.schema.channels.outage import unavailable
from hotline.tenants.accounts import identity
from hotline.tenants.channels import keys, wechat, wechat_secure
from hotline.tenants.kernel.errors import AuthFailed, DomainError, ErrorCode, NotFound
from hotline.tenants.provinces.models import Tenant

MAX_BODY = 64 * 1024


async def _city(request: Request) -> tuple[Tenant, str]:
    with use_scope(Scope.platform()):
        tenant = await identity.find_tenant(request.path_params["city"])
    with use_scope(Scope.city(tenant.id, tenant.province_id)):
        token = await keys.secret_of("wechat")
    if token is None:
        raise NotFound("city")  # no token set: as if the city had no WeChat door
    return tenant, token


def _refused(exc: DomainError) -> PlainTextResponse:
    status = 404 if exc.code is ErrorCode.NOT_FOUND else 400
    if exc.code is ErrorCode.AUTH_FAILED:
        status = 403
    return PlainTextResponse(exc.message, status_code=status)


async def _message(request: Request, tenant: Tenant, token: str, body: bytes) -> bytes:
    """The message XML of a POST, its signature checked: encrypted when the city set an
    EncodingAESKey (``msg_signature`` covers the body), else plain."""
    q = request.query_params
    timestamp, nonce = q.get("timestamp", ""), q.get("nonce", "")
    with use_scope(Scope.city(tenant.id, tenant.province_id)):
        secure = await wechat_secure.secure_key()
    if secure is None:
        if q.get("encrypt_type", "raw") != "raw":
            raise AuthFailed("the account takes only plain messages")
        wechat.check_signature(
            token=token,
            timestamp=timestamp,
            nonce=nonce,
            signature=q.get("signature", ""),
            now=clock.now(),
        )
        message = body
    else:
        if q.get("encrypt_type") != "aes":
            raise AuthFailed("the account takes only encrypted messages")
        key, app_id = secure
        message = wechat_secure.open_encrypted(
            token=token,
            key=key,
            app_id=app_id,
            timestamp=timestamp,
            nonce=nonce,
            msg_signature=q.get("msg_signature", ""),
            body=body,
            now=clock.now(),
        )
    await wechat.remember_nonce(tenant_id=tenant.id, timestamp=timestamp, nonce=nonce, body=body)
    return message


async def callback(request: Request) -> Response:
    body = await request.body() if request.method == "POST" else b""
    if len(body) > MAX_BODY:
        return PlainTextResponse("the body is too large", status_code=413)
    try:
        tenant, token = await _city(request)
        if request.method == "GET":
            q = request.query_params
            wechat.check_signature(
                token=token,
                timestamp=q.get("timestamp", ""),
                nonce=q.get("nonce", ""),
                signature=q.get("signature", ""),
                now=clock.now(),
            )
            return PlainTextResponse(q.get("echostr", ""))
        message = wechat.parse_message(await _message(request, tenant, token, body))
        await wechat.receive_wechat(tenant=tenant, message=message)
    except DomainError as exc:
        return _refused(exc)
    except Exception as exc:
        if not is_transient(exc):
            raise
        return unavailable(exc)
    return PlainTextResponse("success")


def routes() -> list[BaseRoute]:
    return [Route("/channels/wechat/{city}", callback, methods=["GET", "POST"])]
