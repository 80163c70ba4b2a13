"""The SMS gateway's inbound webhook: ``POST /channels/sms/{city}`` (code or slug),
signed with the city's SMS secret (:mod:`hotline.tenants.channels.keys`), a JSON body
``{"message_id", "from", "text"}``. Refusals are ``{"error": {"code", "message"}}``
with 401 (signature, timestamp), 404 (city, or no secret set) or 400 (body) and store
nothing; a message id seen before answers 200 ``duplicate`` and changes nothing."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from hotline.platform import clock
from hotline.platform.faults import is_transient
from hotline.platform.tenancy import Scope, use_scope
from hotline.schema.channels.outage import unavailable
from hotline.tenants.accounts import identity
from hotline.tenants.channels import keys
from hotline.tenants.channels.sms import receive_sms
from hotline.tenants.kernel.errors import DomainError, ErrorCode

MAX_BODY = 16 * 1024
TIMESTAMP_HEADER = "x-hotline-timestamp"
SIGNATURE_HEADER = "x-hotline-signature"


def _refuse(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _status(exc: DomainError) -> int:
    return {ErrorCode.AUTH_FAILED: 401, ErrorCode.NOT_FOUND: 404}.get(exc.code, 400)


async def inbound(request: Request) -> Response:
    body = await request.body()
    if len(body) > MAX_BODY:
        return _refuse(413, "INVALID", "the body is too large")
    try:
        with use_scope(Scope.platform()):
            tenant = await identity.find_tenant(request.path_params["city"])
        with use_scope(Scope.city(tenant.id, tenant.province_id)):
            secret = await keys.secret_of("sms")
        if secret is None:
            return _refuse(404, "NOT_FOUND", "SMS intake is not set up for this city")
        keys.check_signature(
            secret=secret,
            timestamp=request.headers.get(TIMESTAMP_HEADER, ""),
            body=body,
            signature=request.headers.get(SIGNATURE_HEADER, ""),
            now=clock.now(),
        )
        try:
            message = json.loads(body)
        except ValueError:
            return _refuse(400, "INVALID", "the body is not valid JSON")
        if not isinstance(message, dict) or not all(
            isinstance(message.get(k), str) for k in ("message_id", "from", "text")
        ):
            return _refuse(400, "INVALID", "the body needs message_id, from and text strings")
        outcome = await receive_sms(
            tenant=tenant,
            message_id=message["message_id"],
            sender=message["from"],
            text=message["text"],
        )
    except DomainError as exc:
        return _refuse(_status(exc), exc.code.value, exc.message)
    except Exception as exc:  # an outage: 503, nothing stored, the gateway retries
        if not is_transient(exc):
            raise
        return unavailable(exc)
    return JSONResponse({"result": outcome.result.value, "ticket": outcome.ticket_number})


def routes() -> list[BaseRoute]:
    return [Route("/channels/sms/{city}", inbound, methods=["POST"])]
