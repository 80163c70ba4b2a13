"""The WeChat official account's callback: ``GET /channels/wechat/{city}`` answers the
server check (``echostr``), ``POST`` takes a message (plain mode). Both are signed by
WeChat with the city's token (:mod:`hotline.tenants.channels.wechat`); a refusal is
403 and stores nothing, a message taken answers ``success``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Route

from hotline.platform import clock
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.accounts import identity
from hotline.tenants.channels import keys, wechat
from hotline.tenants.kernel.errors import DomainError, ErrorCode, NotFound
from hotline.tenants.provinces.models import Tenant

MAX_BODY = 64 * 1024


async def _checked(request: Request) -> Tenant:
    with use_scope(Scope.platform()):
        tenant = await identity.find_tenant(request.path_params["city"])
    with use_scope(Scope.city(tenant.id, tenant.province_id)):
        token = await keys.secret_of("wechat")
    if token is None:
        raise NotFound("city")  # no token set: as if the city had no WeChat door
    q = request.query_params
    wechat.check_signature(
        token=token,
        timestamp=q.get("timestamp", ""),
        nonce=q.get("nonce", ""),
        signature=q.get("signature", ""),
        now=clock.now(),
    )
    return tenant


def _refused(exc: DomainError) -> PlainTextResponse:
    status = 404 if exc.code is ErrorCode.NOT_FOUND else 400
    if exc.code is ErrorCode.AUTH_FAILED:
        status = 403
    return PlainTextResponse(exc.message, status_code=status)


async def callback(request: Request) -> PlainTextResponse:
    body = await request.body() if request.method == "POST" else b""
    if len(body) > MAX_BODY:
        return PlainTextResponse("the body is too large", status_code=413)
    try:
        tenant = await _checked(request)
        if request.method == "GET":
            return PlainTextResponse(request.query_params.get("echostr", ""))
        message = wechat.parse_message(body)
        await wechat.receive_wechat(tenant=tenant, message=message)
    except DomainError as exc:
        return _refused(exc)
    return PlainTextResponse("success")


def routes() -> list[BaseRoute]:
    return [Route("/channels/wechat/{city}", callback, methods=["GET", "POST"])]
