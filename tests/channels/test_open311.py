"""Open311 GeoReport v2 driven by a third-party client (``georeport`` from PyPI) over a
real socket, in JSON and XML. ``georeport`` has no POST and no tokens, so those calls
(and the error bodies) go through httpx."""

from __future__ import annotations

import asyncio
import io
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio
import requests
import uvicorn
import xmltodict
from georeport import GeoReport
from PIL import Image

from hotline.platform import clock
from hotline.platform.senders.config import reset_delivery_settings
from hotline.platform.settings import reset_settings
from hotline.platform.tenancy import use_scope
from hotline.tenants.accounts import memberships
from hotline.tenants.accounts.api_keys import authenticate_api_key
from hotline.tenants.categories.models import Category
from hotline.tenants.channels import open311
from hotline.tenants.channels.models import DuplicateProposal
from hotline.tenants.evidence.models import Evidence
from hotline.tenants.tickets.models import Channel, Ticket
from tests import world as shared
from tests.channels.conftest import Served
from tests.tickets_api.conftest import City


def _client(served: Served, city: City, fmt: str = "json") -> GeoReport:
    return GeoReport(f"{served.url}/open311/v2", jurisdiction=city.slug, output_format=fmt)


async def _count(city: City) -> int:
    with use_scope(city.scope()):
        return await Ticket.all().count()


def _form(served: Served, city: City, **extra: str) -> dict[str, str]:
    return {
        "jurisdiction_id": city.tenant.code,
        "api_key": served.keys[city.slug],
        "service_code": str(city.category.id),
        "attribute[subcategory]": str(city.subcategory.id),
        "lat": "36.6612",
        "long": "117.0201",
        "description": "路边违章建筑挡住人行道",
        **extra,
    }


async def _post(served: Served, form: dict[str, str], fmt: str = "json") -> httpx.Response:
    async with httpx.AsyncClient(base_url=served.url) as client:
        return await client.post(f"/open311/v2/requests.{fmt}", data=form)


async def _listed(served: Served, city: City, fmt: str, **params: str) -> list[dict[str, Any]]:
    """GET requests through httpx: georeport cannot read an empty XML list
    (``<service_requests/>`` parses to None and it indexes into it)."""
    async with httpx.AsyncClient(base_url=served.url) as client:
        response = await client.get(
            f"/open311/v2/requests.{fmt}", params={"jurisdiction_id": city.slug, **params}
        )
    assert response.status_code == 200, response.text
    if fmt == "json":
        rows: list[dict[str, Any]] = response.json()
        return rows
    found = (xmltodict.parse(response.content)["service_requests"] or {}).get("request", [])
    return found if isinstance(found, list) else [found]


def _answer(exc: requests.HTTPError) -> requests.Response:
    assert exc.response is not None
    return exc.response


def _error(response: httpx.Response | requests.Response, fmt: str) -> dict[str, Any]:
    if fmt == "json":
        body: list[dict[str, Any]] = response.json()
        return body[0]
    error: dict[str, Any] = xmltodict.parse(response.content)["errors"]["error"]
    return error


async def test_discovery_lists_the_endpoint(served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.url) as client:
        body = (await client.get("/open311/discovery.json")).json()
        xml = xmltodict.parse((await client.get("/open311/discovery.xml")).content)
    endpoint = body["endpoints"][0]
    assert endpoint["url"] == f"{served.url}/open311/v2"
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert xml["discovery"]["endpoints"]["endpoint"]["url"] == endpoint["url"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_services_and_definition_from_the_citys_categories(served: Served, fmt: str) -> None:
    alpha = served.world.alpha
    client = _client(served, alpha, fmt)
    services = await asyncio.to_thread(client.get_service_list)
    service = services if isinstance(services, dict) else services[0]
    assert service["service_code"] == str(alpha.category.id)
    assert service["service_name"] == "urban management"
    definition = await asyncio.to_thread(client.get_service_definition, str(alpha.category.id))
    attributes = definition["attributes"]
    if fmt == "xml":
        attributes = attributes["attribute"]
    subcategory = attributes[0]
    assert subcategory["code"] == "subcategory"
    assert str(subcategory["required"]).lower() == "true"
    values = subcategory["values"] if fmt == "json" else subcategory["values"]["value"]
    values = values if isinstance(values, list) else [values]
    assert [v["name"] for v in values] == ["illegal construction"]
    assert attributes[1]["code"] == "kind"


async def test_services_are_listed_in_the_order_of_the_category_tree(served: Served) -> None:
    """By code (as categoryTree lists them), uncoded ones last, then by id — not by id."""
    alpha = served.world.alpha
    with use_scope(alpha.scope()):
        later = await shared.category(None, "sanitation")
        earlier = await shared.category(None, "transport")
        later.code, earlier.code = "03", "02"
        await later.save(update_fields=["code"])
        await earlier.save(update_fields=["code"])
    try:
        services = await asyncio.to_thread(_client(served, alpha).get_service_list)
        codes = [s["service_code"] for s in services]
        assert codes == ["02", "03", str(alpha.category.id)]
    finally:
        with use_scope(alpha.scope()):
            await Category.filter(id__in=[later.id, earlier.id]).update(is_active=False)


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_post_then_read_back_with_the_client(served: Served, fmt: str) -> None:
    alpha = served.world.alpha
    before = await _count(alpha)
    response = await _post(served, _form(served, alpha, description=f"积水 {fmt}"), fmt)
    assert response.status_code == 200, response.text
    if fmt == "json":
        created = response.json()[0]
    else:
        created = xmltodict.parse(response.content)["service_requests"]["request"]
    number = created["service_request_id"]
    assert number.startswith("AL")
    assert created["token"]
    assert await _count(alpha) == before + 1
    with use_scope(alpha.scope()):
        ticket = await Ticket.get(number=number)
    assert ticket.channel is Channel.OPEN311
    assert ticket.category_id == alpha.subcategory.id

    client = _client(served, alpha, fmt)
    one = await asyncio.to_thread(client.get_service_request, number)
    assert one["service_request_id"] == number
    assert one["status"] == "open"
    assert one["service_code"] == str(alpha.category.id)
    assert one["status_notes"] == "Received by the hotline center."
    listed = await asyncio.to_thread(client.get_service_requests, service_request_id=number)
    listed = [listed] if isinstance(listed, dict) else listed
    assert [r["service_request_id"] for r in listed] == [number]
    still_open = await asyncio.to_thread(
        client.get_service_requests, status="open", service_code=str(alpha.category.id)
    )
    still_open = [still_open] if isinstance(still_open, dict) else still_open
    assert number in {r["service_request_id"] for r in still_open}
    closed = await _listed(served, alpha, fmt, status="closed")
    assert number not in {r["service_request_id"] for r in closed}

    async with httpx.AsyncClient(base_url=served.url) as http:
        token = (
            await http.get(
                f"/open311/v2/tokens/{created['token']}.json", params={"jurisdiction_id": "alpha"}
            )
        ).json()
    assert token == [{"service_request_id": number, "token": created["token"]}]


async def test_a_retried_post_is_one_request(served: Served) -> None:
    alpha = served.world.alpha
    form = _form(served, alpha, description="同一个请求重试了两次")
    first = (await _post(served, form)).json()[0]
    before = await _count(alpha)
    again = (await _post(served, form)).json()[0]
    assert again["service_request_id"] == first["service_request_id"]
    assert await _count(alpha) == before
    assert "Query code" not in again["service_notice"]


async def test_the_same_form_after_the_retry_window_is_another_citizens_request(
    served: Served,
) -> None:
    """One key serves all a client's users: the same form later is a new ticket, and a
    repeat within the window gets no query code. Called in-process: ``clock.travel``
    moves this task's clock, not the server's."""
    alpha = served.world.alpha
    form = _form(served, alpha, description="楼道灯坏了好几天")
    key = await authenticate_api_key(plaintext=form["api_key"], tenant_id=alpha.tenant.id)
    actor = await memberships.actor_for_api_key(key=key)
    start = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # the start of a window bucket
    with use_scope(alpha.scope()):
        with clock.travel(start):
            first = await open311.create_request(actor=actor, form=form)
        with clock.travel(start + open311.RETRY_WINDOW / 2):
            repeat = await open311.create_request(actor=actor, form=form)
        with clock.travel(start + open311.RETRY_WINDOW * 2):
            later = await open311.create_request(actor=actor, form=form)
    assert first.created
    assert "Query code" in first.service_notice
    assert repeat.service_request_id == first.service_request_id
    assert not repeat.created
    assert repeat.service_notice == ""
    assert later.created
    assert later.service_request_id != first.service_request_id


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_public_reads_show_no_personal_data(served: Served, fmt: str) -> None:
    alpha = served.world.alpha
    form = _form(
        served,
        alpha,
        description=f"{fmt} 我家泉城路18号3单元502室漏水，电话13912345678，"
        "身份证370102199001011234",
        address_string="泉城路18号3单元502室",
        lat="36.661234",
        long="117.020187",
    )
    number = (await _post(served, form)).json()[0]["service_request_id"]
    listed = await _listed(served, alpha, fmt, service_request_id=number)
    async with httpx.AsyncClient(base_url=served.url) as http:
        one = await http.get(
            f"/open311/v2/requests/{number}.{fmt}", params={"jurisdiction_id": alpha.slug}
        )
    shown = str(listed) + one.text
    assert listed
    assert "漏水" in str(listed)
    for secret in ("13912345678", "370102199001011234", "18号", "502", "36.661234", "117.020187"):
        assert secret not in shown, secret
    assert "36.661" in shown
    assert "泉城路" in shown


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_refusals_use_the_standards_errors_and_store_nothing(
    served: Served, fmt: str
) -> None:
    alpha, beta = served.world.alpha, served.world.beta
    before = await _count(alpha), await _count(beta)
    missing = _form(served, alpha)
    del missing["api_key"]
    cases = [
        (missing, 403, "api_key is required"),
        (_form(served, alpha, api_key="hk_nope_nope"), 403, "api_key is not valid"),
        (_form(served, alpha, api_key=served.keys["beta"]), 403, "api_key is not valid"),
        (_form(served, alpha, api_key=served.keys["alpha-auditor"]), 403, "may not create"),
        (_form(served, alpha, service_code="999999"), 404, "service"),
        (_form(served, alpha, jurisdiction_id="nowhere"), 404, "jurisdiction_id"),
        (_form(served, alpha, lat="", long=""), 400, "location is required"),
        (_form(served, alpha, **{"attribute[subcategory]": "x"}), 400, "subcategory"),
        (_form(served, alpha, media_url="http://127.0.0.1:9/x.png"), 400, "media_url"),
    ]
    for form, status, words in cases:
        response = await _post(served, form, fmt)
        assert response.status_code == status, (form, response.text)
        error = _error(response, fmt)
        assert int(error["code"]) == status
        assert words in error["description"]
    assert (await _count(alpha), await _count(beta)) == before

    client = _client(served, alpha, fmt)
    with pytest.raises(requests.HTTPError) as unknown:
        await asyncio.to_thread(client.get_service_definition, "999999")
    assert _answer(unknown.value).status_code == 404
    assert _error(_answer(unknown.value), fmt)["code"] in (404, "404")
    nowhere = GeoReport(f"{served.url}/open311/v2", jurisdiction="nowhere", output_format=fmt)
    with pytest.raises(requests.HTTPError) as jurisdiction:
        await asyncio.to_thread(nowhere.get_service_list)
    assert _answer(jurisdiction.value).status_code == 404


async def test_another_citys_request_is_not_found(served: Served) -> None:
    alpha, beta = served.world.alpha, served.world.beta
    created = (await _post(served, _form(served, beta, description="乙市的秘密请求"))).json()[0]
    number = created["service_request_id"]
    for fmt in ("json", "xml"):
        client = _client(served, alpha, fmt)
        with pytest.raises(requests.HTTPError) as missing:
            await asyncio.to_thread(client.get_service_request, number)
        assert _answer(missing.value).status_code == 404
        assert "乙市" not in _answer(missing.value).text
        assert await _listed(served, alpha, fmt, service_request_id=number) == []
    async with httpx.AsyncClient(base_url=served.url) as http:
        token = await http.get(
            f"/open311/v2/tokens/{created['token']}.json", params={"jurisdiction_id": "alpha"}
        )
    assert token.status_code == 404
    # its own city, by host as for GraphQL
    async with httpx.AsyncClient(base_url=served.url) as http:
        own = await http.get(
            f"/open311/v2/requests/{number}.json", headers={"Host": "beta.hotline.example"}
        )
    assert own.status_code == 200
    assert own.json()[0]["description"] == "乙市的秘密请求"


async def test_a_repeat_report_is_proposed_as_a_duplicate(served: Served) -> None:
    alpha = served.world.alpha
    first = (await _post(served, _form(served, alpha, description="井盖丢失 第一次"))).json()[0]
    second = (await _post(served, _form(served, alpha, description="井盖丢失 又报"))).json()[0]
    with use_scope(alpha.scope()):
        kept = await Ticket.get(number=first["service_request_id"])
        new = await Ticket.get(number=second["service_request_id"])
        proposals = await DuplicateProposal.filter(ticket_id=new.id)
    assert kept.id in {p.candidate_id for p in proposals}
    assert new.status.value == "received"  # proposed, not merged


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest_asyncio.fixture(loop_scope="session")
async def media_url() -> AsyncIterator[str]:
    png = _png()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"image/png")],
            }
        )
        await send({"type": "http.response.body", "body": png})

    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 — uvicorn offers no event to wait on
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/photo.png"
    server.should_exit = True
    await task


async def test_media_url_is_fetched_into_the_evidence_store(
    served: Served, media_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    alpha = served.world.alpha
    before = await _count(alpha)
    refused = await _post(served, _form(served, alpha, media_url=media_url))
    assert refused.status_code == 400
    assert "non-public" in refused.json()[0]["description"]
    assert await _count(alpha) == before
    monkeypatch.setenv("HOTLINE_WEBHOOK_ALLOW_PRIVATE", "true")  # an on-premise setting
    reset_delivery_settings()
    try:
        created = (await _post(served, _form(served, alpha, media_url=media_url))).json()[0]
    finally:
        monkeypatch.delenv("HOTLINE_WEBHOOK_ALLOW_PRIVATE")
        reset_delivery_settings()
    with use_scope(alpha.scope()):
        ticket = await Ticket.get(number=created["service_request_id"])
        evidence = await Evidence.filter(ticket_id=ticket.id)
    assert [(e.kind.value, e.content_type, e.status.value) for e in evidence] == [
        ("photo", "image/png", "verifying")
    ]


async def test_a_stopped_object_store_refuses_the_request_and_stores_nothing(
    served: Served, media_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file is put before the ticket's transaction: with the store down the POST is
    503 and nothing is kept (no ticket without its file); the client's retry, once the
    store is back, makes the ticket with its evidence."""
    alpha = served.world.alpha
    with socket.socket() as probe:  # a port where no store listens: the store stopped
        probe.bind(("127.0.0.1", 0))
        stopped = f"http://127.0.0.1:{probe.getsockname()[1]}"
    form = _form(served, alpha, media_url=media_url, description="文化路7号广告牌松动")
    with use_scope(alpha.scope()):
        evidence_before = await Evidence.all().count()
    before = await _count(alpha)
    monkeypatch.setenv("HOTLINE_WEBHOOK_ALLOW_PRIVATE", "true")
    reset_delivery_settings()
    try:
        with monkeypatch.context() as store:
            store.setenv("HOTLINE_S3_ENDPOINT", stopped)
            reset_settings()
            try:
                down = await _post(served, form)
            finally:
                store.undo()
                reset_settings()
        assert down.status_code == 503
        assert down.headers["retry-after"] == "5"
        assert down.json()[0]["code"] == 503
        assert await _count(alpha) == before
        retried = await _post(served, form)
    finally:
        monkeypatch.delenv("HOTLINE_WEBHOOK_ALLOW_PRIVATE")
        reset_delivery_settings()
    assert retried.status_code == 200
    with use_scope(alpha.scope()):
        ticket = await Ticket.get(number=retried.json()[0]["service_request_id"])
        evidence = await Evidence.filter(ticket_id=ticket.id)
        assert await Evidence.all().count() == evidence_before + 1
    assert [e.status.value for e in evidence] == ["verifying"]
