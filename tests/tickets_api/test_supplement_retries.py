"""A sender's retry adds a supplement once: ``addSupplement`` (an agent, a CTI
integration) and ``supplementTicket`` (the citizen's own page) take an
``idempotencyKey`` like ``createTicket``; the same key — again, or twice at once — adds
the text once and answers like the first call; another key, or none, adds again."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from hotline.platform.tenancy import use_scope
from hotline.schema.ids import encode_id
from hotline.tenants.tickets.models import TimelineEvent

if TYPE_CHECKING:
    from tests.tickets_api.conftest import City, World

AGENT = """mutation($t: ID!, $text: String!, $k: String) {
  addSupplement(ticketId: $t, text: $text, idempotencyKey: $k) {
    ticket { id } errors { code field } } }"""
CITIZEN = """mutation($n: String!, $c: String!, $text: String!, $k: String) {
  supplementTicket(number: $n, queryCode: $c, text: $text, idempotencyKey: $k) {
    added errors { code field } } }"""


async def _supplements(city: City, ticket_id: int) -> list[str]:
    with use_scope(city.scope()):
        rows = await TimelineEvent.filter(ticket_id=ticket_id, action="supplement").order_by("seq")
    return [row.reason for row in rows]


def _payload(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    (payload,) = body["data"].values()
    assert payload["errors"] == [], payload
    return dict(payload)


async def test_an_agents_retry_adds_the_text_once(world: World) -> None:
    city = world.alpha
    made = await world.ticket(city)
    tid = str(encode_id("Ticket", made.ticket.id))

    async def add(text: str, key: str | None) -> dict[str, Any]:
        return _payload(await world.gql(city, "agent", AGENT, {"t": tid, "text": text, "k": key}))

    first = await add("东侧三盏也不亮", "cti-call-7")
    again = await add("东侧三盏也不亮", "cti-call-7")
    assert first == again == {"ticket": {"id": tid}, "errors": []}
    # two retries racing: the ticket's row lock makes the second see the first
    await asyncio.gather(add("西侧也不亮", "cti-call-8"), add("西侧也不亮", "cti-call-8"))
    await add("又补充一句", None)
    await add("又补充一句", None)  # no key: each call is new information
    assert await _supplements(city, made.ticket.id) == [
        "东侧三盏也不亮",
        "西侧也不亮",
        "又补充一句",
        "又补充一句",
    ]
    bad = await world.gql(city, "agent", AGENT, {"t": tid, "text": "x", "k": "k" * 101})
    assert bad["data"]["addSupplement"]["errors"] == [
        {"code": "INVALID", "field": "idempotencyKey"}
    ]


async def test_a_citizens_retry_adds_the_text_once_and_spends_no_budget(world: World) -> None:
    city = world.alpha
    made = await world.ticket(city)
    number = made.ticket.number

    async def add(text: str, key: str | None) -> dict[str, Any]:
        variables = {"n": number, "c": made.query_code, "text": text, "k": key}
        return _payload(await world.gql(city, None, CITIZEN, variables))

    assert await add("已漏到二楼", "page-1") == {"added": True, "errors": []}
    # retried past the hourly budget of 10 additions: still the same answer, nothing added
    for _ in range(12):
        assert await add("已漏到二楼", "page-1") == {"added": True, "errors": []}
    await asyncio.gather(add("三楼也湿了", "page-2"), add("三楼也湿了", "page-2"))
    assert await _supplements(city, made.ticket.id) == ["已漏到二楼", "三楼也湿了"]
    # the same key from the agent's side is another sender's key: added
    tid = str(encode_id("Ticket", made.ticket.id))
    agent = await world.gql(city, "agent", AGENT, {"t": tid, "text": "已漏到二楼", "k": "page-1"})
    _payload(agent)
    assert await _supplements(city, made.ticket.id) == ["已漏到二楼", "三楼也湿了", "已漏到二楼"]
