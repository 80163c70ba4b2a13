"""Open311 GeoReport v2 at ``/open311/v2/`` (docs/channels.md): the HTTP face of
:mod:`hotline.tenants.channels.open311`. The city is ``jurisdiction_id`` (its division
code or slug), else the ``X-Hotline-Tenant`` header or the host, as for GraphQL. Reads
are public; ``POST requests`` needs an API key of that city allowed to create tickets.
Every failure is the standard's error list, with nothing stored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from hotline.platform.faults import is_transient
from hotline.platform.tenancy import Scope, use_scope
from hotline.schema.channels.formats import FORMATS, error, render
from hotline.schema.channels.outage import RETRY_AFTER_SECONDS, log_unavailable
from hotline.schema.middleware import requested_tenant
from hotline.tenants.accounts import identity, memberships
from hotline.tenants.accounts.api_keys import authenticate_api_key
from hotline.tenants.channels import open311
from hotline.tenants.kernel.access import Action, require
from hotline.tenants.kernel.errors import (
    AuthFailed,
    DomainError,
    ErrorCode,
    NotFound,
    PermissionDenied,
)
from hotline.tenants.provinces.models import Tenant

PREFIX = "/open311/v2"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
MAX_FORM_BYTES = 64 * 1024
FORMATS_MIME = ("application/json", "text/xml")


class Refused(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


Handler = Callable[[Request, str, Tenant], Awaitable[Response]]


def _status_of(exc: DomainError) -> int:
    if isinstance(exc, AuthFailed | PermissionDenied):
        return 403
    return 404 if exc.code is ErrorCode.NOT_FOUND else 400


async def _city(request: Request, params: dict[str, str]) -> Tenant:
    ref = params.get("jurisdiction_id", "").strip() or requested_tenant(request)
    if not ref:
        raise Refused(400, "jurisdiction_id is required")
    try:
        with use_scope(Scope.platform()):
            return await identity.find_tenant(ref)
    except NotFound:
        raise Refused(404, f"jurisdiction_id {ref!r} not found") from None


def _local(tenant: Tenant) -> Callable[[datetime | None], str | None]:
    zone = ZoneInfo(tenant.timezone)

    def shown(value: datetime | None) -> str | None:
        return None if value is None else value.astimezone(zone).isoformat(timespec="seconds")

    return shown


async def _form(request: Request) -> dict[str, str]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise Refused(400, "POST requests takes application/x-www-form-urlencoded")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise Refused(400, "the form is too large")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise Refused(400, "the form is not valid UTF-8 url-encoding") from None
    return dict(pairs)


def _endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        fmt = request.path_params.get("fmt", "json")
        if fmt not in FORMATS:
            return error("json", 404, f"unknown format {fmt!r}: use .json or .xml")
        try:
            params = dict(request.query_params)
            if request.method == "POST":
                params = {**params, **await _form(request)}
                request.state.form = params
            tenant = await _city(request, params)
            with use_scope(Scope.city(tenant.id, tenant.province_id)):
                return await handler(request, fmt, tenant)
        except Refused as exc:
            return error(fmt, exc.status, exc.description)
        except DomainError as exc:
            where = f" ({exc.field})" if exc.field else ""
            return error(fmt, _status_of(exc), f"{exc.message}{where}")
        except Exception as exc:  # an outage (database, Redis, object store): retry later
            if not is_transient(exc):
                raise
            log_unavailable(exc)
            answer = error(fmt, 503, "a service is unavailable; try again shortly")
            answer.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return answer

    return endpoint


async def _discovery(request: Request) -> Response:
    fmt = request.path_params.get("fmt", "json")
    if fmt not in FORMATS:
        return error("json", 404, f"unknown format {fmt!r}: use .json or .xml")
    document = {
        "changeset": "2026-11-30T00:00:00Z",
        "contact": "the city's 12345 hotline center",
        "key_service": "an API key from the city's administrator (createApiKey)",
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": str(request.base_url).rstrip("/") + PREFIX,
                "changeset": "2026-11-30T00:00:00Z",
                "type": "production",
                "formats": list(FORMATS_MIME),
            }
        ],
    }
    return render(fmt, "discovery", document)


async def _services(request: Request, fmt: str, tenant: Tenant) -> Response:
    return render(
        fmt,
        "services",
        [
            {
                "service_code": s.code,
                "service_name": s.name,
                "description": s.description,
                "metadata": True,
                "type": "realtime",
                "keywords": "",
                "group": s.group,
            }
            for s in await open311.services()
        ],
    )


async def _definition(request: Request, fmt: str, tenant: Tenant) -> Response:
    code, attributes = await open311.definition(request.path_params["code"])
    document: dict[str, Any] = {
        "service_code": code,
        "attributes": [
            {
                "variable": True,
                "code": a.code,
                "datatype": "singlevaluelist",
                "required": a.required,
                "datatype_description": "",
                "order": a.order,
                "description": a.description,
                "values": [{"key": v.key, "name": v.name} for v in a.values],
            }
            for a in attributes
        ],
    }
    return render(fmt, "service_definition", document)


def _request_document(
    view: open311.RequestView, shown: Callable[[datetime | None], str | None]
) -> dict[str, Any]:
    return {
        "service_request_id": view.service_request_id,
        "status": view.status,
        "status_notes": view.status_notes,
        "service_name": view.service_name,
        "service_code": view.service_code,
        "description": view.description,
        "agency_responsible": view.agency_responsible,
        "service_notice": "",
        "requested_datetime": shown(view.requested_datetime),
        "updated_datetime": shown(view.updated_datetime),
        "expected_datetime": shown(view.expected_datetime),
        "address": view.address,
        "address_id": "",
        "zipcode": "",
        "lat": view.lat,
        "long": view.long,
        "media_url": "",
    }


async def _requests(request: Request, fmt: str, tenant: Tenant) -> Response:
    if request.method == "POST":
        return await _create(request, fmt, tenant)
    shown = _local(tenant)
    views = await open311.request_views(query=dict(request.query_params))
    return render(fmt, "service_requests", [_request_document(v, shown) for v in views])


async def _create(request: Request, fmt: str, tenant: Tenant) -> Response:
    form: dict[str, str] = request.state.form
    plaintext = form.get("api_key", "").strip()
    if not plaintext:
        raise Refused(403, "api_key is required")
    try:
        key = await authenticate_api_key(plaintext=plaintext, tenant_id=tenant.id)
        actor = await memberships.actor_for_api_key(key=key)
    except AuthFailed:
        raise Refused(403, "api_key is not valid for this jurisdiction") from None
    try:
        require(actor, Action.TICKET_CREATE)
    except PermissionDenied:
        raise Refused(403, "this api_key may not create service requests") from None
    created = await open311.create_request(actor=actor, form=form)
    return render(
        fmt,
        "service_requests",
        [
            {
                "service_request_id": created.service_request_id,
                "token": created.token or "",
                "service_notice": created.service_notice,
                "account_id": "",
            }
        ],
    )


async def _one(request: Request, fmt: str, tenant: Tenant) -> Response:
    view = await open311.request_view(request.path_params["id"])
    return render(fmt, "service_requests", [_request_document(view, _local(tenant))])


async def _token(request: Request, fmt: str, tenant: Tenant) -> Response:
    token, number = await open311.token_view(request.path_params["token"])
    return render(fmt, "service_requests", [{"service_request_id": number, "token": token}])


def routes() -> list[BaseRoute]:
    return [
        Route("/open311/discovery.{fmt}", _discovery, methods=["GET"]),
        Route(f"{PREFIX}/services.{{fmt}}", _endpoint(_services), methods=["GET"]),
        Route(f"{PREFIX}/services/{{code}}.{{fmt}}", _endpoint(_definition), methods=["GET"]),
        Route(f"{PREFIX}/requests.{{fmt}}", _endpoint(_requests), methods=["GET", "POST"]),
        Route(f"{PREFIX}/requests/{{id}}.{{fmt}}", _endpoint(_one), methods=["GET"]),
        Route(f"{PREFIX}/tokens/{{token}}.{{fmt}}", _endpoint(_token), methods=["GET"]),
    ]
