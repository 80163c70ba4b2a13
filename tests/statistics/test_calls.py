"""Call records pushed by the CTI system's API key: idempotent by call id, the caller's
number stored like a citizen's phone, figures computed by hand, and cities apart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio

from hotline.platform.crypto import decrypt
from hotline.platform.redis import close_redis
from hotline.platform.settings import Settings
from hotline.platform.tenancy import Scope, current_scope, set_scope, use_scope
from hotline.schema.app import create_app
from hotline.tenants.accounts import api_keys
from hotline.tenants.accounts.memberships import load_actor
from hotline.tenants.kernel.roles import Role
from hotline.tenants.provinces.models import Province
from hotline.tenants.statistics.models import CallRecord
from hotline.tenants.tickets.phones import phone_hash
from tests import isolation_registry
from tests.tickets_api.conftest import City, add_person, make_city, make_ticket

PUSH = """mutation($r: [CallRecordInput!]!) {
  pushCallRecords(records: $r) { created updated unchanged errors { field code message } }
}"""
CITY = """query($from: Date!, $to: Date!) { cityStatistics(from: $from, to: $to) {
  calls { figures { offered answered abandoned overflow ivr connectionRate abandonRate
                    averageSpeedOfAnswer averageHandleTime }
          byDay { key figures { offered } } byQueue { key figures { offered answered } }
          bySeatGroup { key figures { answered averageHandleTime } } } } }"""
PROVINCE = """query($from: Date!, $to: Date!) { provinceStatistics(from: $from, to: $to) {
  calls { figures { offered } } } }"""
SH = ZoneInfo("Asia/Shanghai")


@dataclass
class CtiWorld:
    client: httpx.AsyncClient
    alpha: City
    beta: City
    gamma: City
    keys: dict[str, str]
    ticket_number: str

    async def post(self, query: str, variables: dict[str, Any], **headers: str) -> dict[str, Any]:
        saved = current_scope()
        try:
            response = await self.client.post(
                "/graphql", json={"query": query, "variables": variables}, headers=headers
            )
        finally:
            set_scope(saved)
        assert response.status_code in (200, 401), response.text
        body: dict[str, Any] = response.json()
        isolation_registry.record(query, body)
        return body

    async def push(self, city: str, records: list[dict[str, Any]]) -> dict[str, Any]:
        body = await self.post(PUSH, {"r": records}, **{"X-Api-Key": self.keys[city]})
        result: dict[str, Any] = body["data"]["pushCallRecords"]
        return result

    async def as_person(
        self, city: City, who: str, query: str, variables: dict[str, Any]
    ) -> dict[str, Any]:
        return await self.post(
            query,
            variables,
            **{"Authorization": f"Bearer {city.tokens[who]}", "X-Hotline-Tenant": city.slug},
        )


async def _key(city: City) -> str:
    actor = await load_actor(
        user_id=city.users["admin"], tenant_id=city.tenant.id, province_id=city.tenant.province_id
    )
    with use_scope(city.scope(actor.user_id)):
        _, plaintext = await api_keys.create_api_key(actor=actor, name="CTI", roles=[Role.AGENT])
    return plaintext


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def cti(db: Settings) -> AsyncIterator[CtiWorld]:
    with use_scope(Scope.platform()):
        shandong = await Province.create(code="370000", slug="shandong", name="Shandong")
        jiangsu = await Province.create(code="320000", slug="jiangsu", name="Jiangsu")
    alpha = await make_city(shandong, "370100", "alpha")
    beta = await make_city(jiangsu, "320100", "beta")
    gamma = await make_city(shandong, "371400", "gamma")
    for city in (alpha, beta, gamma):
        await add_person(city, "admin", Role.TENANT_ADMIN)
        await add_person(city, "supervisor", Role.SUPERVISOR)
        await add_person(city, "agent", Role.AGENT)
        await add_person(city, "bureau", Role.DEPT_MANAGER, city.bureau)
    await add_person(alpha, "province", None)
    made = await make_ticket(alpha)
    app = create_app(db, manage_orm=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        yield CtiWorld(
            client=client,
            alpha=alpha,
            beta=beta,
            gamma=gamma,
            keys={c.slug: await _key(c) for c in (alpha, beta, gamma)},
            ticket_number=made.ticket.number,
        )
    await close_redis()


START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)


def _at(seconds: int) -> str:
    return (START + timedelta(seconds=seconds)).isoformat()


def _period() -> dict[str, str]:
    day = START.astimezone(SH).date()
    return {"from": (day - timedelta(days=1)).isoformat(), "to": day.isoformat()}


def _calls(ticket_number: str) -> list[dict[str, Any]]:
    return [
        {  # answered after 10 s, handled 120 s, group A, linked to the ticket
            "callId": "c1",
            "startedAt": _at(0),
            "answeredAt": _at(10),
            "endedAt": _at(130),
            "queue": "hotline",
            "seat": "s01",
            "seatGroup": "A",
            "callerNumber": "138 1234 5678",
            "outcome": "ANSWERED",
            "ticketNumber": ticket_number,
        },
        {  # answered after 30 s, handled 300 s, group B
            "callId": "c2",
            "startedAt": _at(60),
            "answeredAt": _at(90),
            "endedAt": _at(390),
            "queue": "business",
            "seat": "s07",
            "seatGroup": "B",
            "callerNumber": "0531-86012345",
            "outcome": "ANSWERED",
        },
        {  # hung up in the queue
            "callId": "c3",
            "startedAt": _at(100),
            "endedAt": _at(145),
            "queue": "hotline",
            "callerNumber": "13900001111",
            "outcome": "ABANDONED",
        },
        {  # the voice menu served it: not offered to a seat
            "callId": "c4",
            "startedAt": _at(200),
            "endedAt": _at(260),
            "queue": "hotline",
            "outcome": "IVR",
        },
    ]


async def test_push_is_idempotent_and_stores_the_number_like_a_citizens(cti: CtiWorld) -> None:
    calls = _calls(cti.ticket_number)
    assert await cti.push("alpha", calls) == {
        "created": 4,
        "updated": 0,
        "unchanged": 0,
        "errors": [],
    }
    # a replay changes nothing
    assert await cti.push("alpha", calls) == {
        "created": 0,
        "updated": 0,
        "unchanged": 4,
        "errors": [],
    }
    # an update of one call replaces it once; replaying the update changes nothing
    calls[0] = {**calls[0], "endedAt": _at(190)}  # handled 180 s, not 120 s
    assert (await cti.push("alpha", calls))["updated"] == 1
    again = await cti.push("alpha", calls)
    assert (again["updated"], again["unchanged"]) == (0, 4)
    with use_scope(cti.alpha.scope()):
        row = await CallRecord.get(call_id="c1")
        assert row.ticket_id is not None
        assert "5678" not in (row.caller_phone_enc or "")
        assert decrypt(row.caller_phone_enc or "") == "+8613812345678"
        assert row.caller_phone_hash == phone_hash("13812345678")
        assert await CallRecord.filter(call_id="c4").values_list("caller_phone_enc", flat=True) == [
            None
        ]


async def test_call_figures_by_hand(cti: CtiWorld) -> None:
    body = await cti.as_person(cti.alpha, "supervisor", CITY, _period())
    calls = body["data"]["cityStatistics"]["calls"]
    f = calls["figures"]
    # offered: c1, c2, c3 (c4 stayed in the voice menu); answered c1, c2; abandoned c3
    assert (f["offered"], f["answered"], f["abandoned"], f["overflow"], f["ivr"]) == (
        3,
        2,
        1,
        0,
        1,
    )
    assert f["connectionRate"] == pytest.approx(2 / 3)
    assert f["abandonRate"] == pytest.approx(1 / 3)
    assert f["averageSpeedOfAnswer"] == pytest.approx((10 + 30) / 2)
    assert f["averageHandleTime"] == pytest.approx((180 + 300) / 2)
    assert calls["byDay"] == [
        {"key": START.astimezone(SH).date().isoformat(), "figures": {"offered": 3}}
    ]
    assert calls["byQueue"] == [
        {"key": "business", "figures": {"offered": 1, "answered": 1}},
        {"key": "hotline", "figures": {"offered": 2, "answered": 1}},
    ]
    assert [(g["key"], g["figures"]["averageHandleTime"]) for g in calls["bySeatGroup"]] == [
        ("", None),
        ("A", pytest.approx(180)),
        ("B", pytest.approx(300)),
    ]
    # a department manager reads its subtree: no call figures
    body = await cti.as_person(cti.alpha, "bureau", CITY, _period())
    assert body["data"]["cityStatistics"]["calls"] is None


async def test_cities_keep_their_own_calls(cti: CtiWorld) -> None:
    # beta's system pushes the same call id with alpha's ticket number: its own call,
    # not linked to alpha's ticket, alpha's call untouched
    record = {**_calls(cti.ticket_number)[0], "callerNumber": "13700000000"}
    assert (await cti.push("beta", [record]))["created"] == 1
    with use_scope(cti.beta.scope()):
        row = await CallRecord.get(call_id="c1")
        assert row.ticket_id is None
    with use_scope(cti.alpha.scope()):
        alpha_row = await CallRecord.get(call_id="c1")
        assert alpha_row.caller_phone_hash == phone_hash("13812345678")
    await cti.push("gamma", [{**record, "callId": "g1"}])
    beta = await cti.as_person(cti.beta, "supervisor", CITY, _period())
    assert beta["data"]["cityStatistics"]["calls"]["figures"]["offered"] == 1
    alpha = await cti.as_person(cti.alpha, "supervisor", CITY, _period())
    assert alpha["data"]["cityStatistics"]["calls"]["figures"]["offered"] == 3
    # the province sees alpha and gamma, never Jiangsu's beta
    body = await cti.as_person(cti.alpha, "province", PROVINCE, _period())
    assert body["data"]["provinceStatistics"]["calls"]["figures"]["offered"] == 4
    # alpha's key cannot push into beta
    body = await cti.post(
        PUSH, {"r": [record]}, **{"X-Api-Key": cti.keys["alpha"], "X-Hotline-Tenant": "beta"}
    )
    assert body.get("data") is None or body["data"]["pushCallRecords"]["errors"]
    with use_scope(cti.beta.scope()):
        assert await CallRecord.all().count() == 1


async def test_only_the_systems_key_pushes_and_bad_records_write_nothing(cti: CtiWorld) -> None:
    record = {**_calls(cti.ticket_number)[0], "callId": "p1"}
    for who in ("agent", "supervisor"):
        body = await cti.as_person(cti.alpha, who, PUSH, {"r": [record]})
        assert [e["code"] for e in body["data"]["pushCallRecords"]["errors"]] == [
            "PERMISSION_DENIED"
        ]
    bad = {**record, "callId": "p2", "answeredAt": None}  # ANSWERED without an answer
    result = await cti.push("alpha", [{**record, "callId": "p3"}, bad])
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("INVALID", "answeredAt")]
    early = {**record, "callId": "p4", "endedAt": _at(5)}  # ends before its answer
    assert (await cti.push("alpha", [early]))["errors"][0]["field"] == "endedAt"
    with use_scope(cti.alpha.scope()):
        assert not await CallRecord.filter(call_id__in=["p1", "p2", "p3", "p4"]).exists()
