"""The keyword search: substring semantics of any length through its candidates, the city
wall (RLS and the candidate function's own filter), common words paged through the newest
window, and the index the function can use where the runtime role cannot
(docs/inbox-and-search.md "Keyword search")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import asyncpg
import pytest

from hotline.platform.db.config import credentials
from hotline.platform.tenancy import use_scope
from hotline.schema.ids import encode_id
from hotline.tenants.tickets import search
from hotline.tenants.tickets.models import Status

if TYPE_CHECKING:
    from tests.tickets_api.conftest import World

SEARCH = """query($f: TicketFilter, $first: Int, $after: String, $sort: TicketSort) {
  tickets(first: $first, after: $after, filter: $f, sort: $sort) {
    edges { node { number } } pageInfo { hasNextPage endCursor } } }"""


async def _numbers(world: World, city: Any, keyword: str, **f: Any) -> list[str]:
    body = await world.gql(city, "agent", SEARCH, {"f": {"keyword": keyword, **f}, "first": 100})
    assert "errors" not in body, body
    return [e["node"]["number"] for e in body["data"]["tickets"]["edges"]]


async def test_a_created_ticket_is_found_at_once(world: World) -> None:
    """The index is an expression of the row: written by the INSERT that creates it.
    (First in the module: the test factory numbers tickets by counting them.)"""
    a = world.alpha
    q = """mutation($c: ID!) { createTicket(input: {channel: PHONE, kind: HELP,
      content: "井盖丢失有人掉进去", categoryId: $c}) { ticket { number } errors { code } } }"""
    body = await world.gql(a, "agent", q, {"c": str(encode_id("Category", a.subcategory.id))})
    assert body["data"]["createTicket"]["errors"] == [], body
    assert await _numbers(world, a, "井盖") == [body["data"]["createTicket"]["ticket"]["number"]]


async def test_a_keyword_of_any_length_matches_as_a_substring(world: World) -> None:
    a = world.alpha
    base = datetime(2025, 1, 6, 9, tzinfo=UTC)
    lamp = await world.ticket(a, content="小区门口路灯坏了，晚上看不见", received_at=base)
    noise = await world.ticket(
        a, content="楼上装修 噪音扰民", address="槐荫区ABC花园3号", received_at=base
    )
    percent = await world.ticket(a, content="水费多收了50%_请核实", received_at=base)
    pipe = await world.ticket(a, content="水管漏水，漏水管道", received_at=base)
    near = await world.ticket(a, content="路边的灯杆歪了", received_at=base)  # 路 … 灯, not 路灯
    lamp_n, noise_n = lamp.ticket.number, noise.ticket.number
    assert await _numbers(world, a, "路灯") == [lamp_n]  # two characters
    assert set(await _numbers(world, a, "灯")) == {lamp_n, near.ticket.number}  # one
    assert await _numbers(world, a, "了，晚") == [lamp_n]  # across punctuation
    assert await _numbers(world, a, "看不见") == [lamp_n]  # the end of the text
    assert await _numbers(world, a, "装修 噪音") == [noise_n]  # with a space
    assert await _numbers(world, a, "装修噪音") == []  # the space is in the text
    assert await _numbers(world, a, "管漏水，") == [pipe.ticket.number]
    assert await _numbers(world, a, "管漏水管") == []  # every bigram there, not the substring
    assert await _numbers(world, a, "abc花园") == [noise_n]  # address, case folded
    assert await _numbers(world, a, "50%_") == [percent.ticket.number]
    assert await _numbers(world, a, "0%x") == []
    assert await _numbers(world, a, lamp_n.lower()) == [lamp_n]  # the number, exactly
    assert await _numbers(world, a, "无此内容") == []


CALL = "SELECT ids, complete FROM hotline_ticket_search('燃气表', 10, 100, 10, true, NULL, NULL)"


async def test_another_citys_tickets_never_appear_even_through_the_function(
    world: World,
) -> None:
    a, b = world.alpha, world.beta
    theirs = await world.ticket(b, content="另一城市的燃气表漏气")
    ours = await world.ticket(a, content="本市的燃气表漏气")
    assert await _numbers(world, a, "燃气表") == [ours.ticket.number]
    assert await _numbers(world, b, "燃气表") == [theirs.ticket.number]
    with use_scope(a.scope()):
        found = await search.candidates("燃气表", newest_first=True)
    assert found == search.Candidates(ids=[ours.ticket.id], complete=True)
    # the city is the scope's: without one, the function answers nothing
    app = await asyncpg.connect(**credentials(world.settings.app_database_url()))
    try:
        row = await app.fetchrow(CALL)
        assert row is not None
        assert row["ids"] == []
        await app.execute(
            "SELECT set_config('app.scope', 'city', false), "
            f"set_config('app.tenant_id', '{a.tenant.id}', false)"
        )
        row = await app.fetchrow(CALL)
        assert row is not None
        assert row["ids"] == [ours.ticket.id]
        # and the runtime role still cannot read the other city's row by that route
        assert (
            await app.fetchval("SELECT count(*) FROM tickets WHERE id = $1", theirs.ticket.id) == 0
        )
    finally:
        await app.close()


async def test_a_common_word_pages_through_the_newest_window(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above CANDIDATES tickets a word is common: each page looks at a window of the
    newest before its cursor, from the index (up to COUNTED) or by walking received
    order (beyond); a window the other filters thin out falls back to the plain search."""
    monkeypatch.setattr(search, "CANDIDATES", 3)
    monkeypatch.setattr(search, "WINDOW_PAGES", 1)
    b = world.beta
    base = datetime(2025, 2, 3, 9, tzinfo=UTC)
    made = [
        await world.ticket(
            b,
            content=f"共享单车乱停放 第{i}次",
            received_at=base + timedelta(minutes=i),
            status=Status.CLOSED if i == 1 else Status.RECEIVED,
        )
        for i in range(8)
    ]
    with use_scope(b.scope()):
        found = await search.candidates("单车", newest_first=True, size=3)
        assert found == search.Candidates(
            ids=[m.ticket.id for m in reversed(made[-3:])], complete=False
        )
        assert (await search.candidates("单车", newest_first=False)).ids is None

    async def pages() -> list[str]:
        seen: list[str] = []
        after = None
        while True:
            body = await world.gql(
                b, "agent", SEARCH, {"f": {"keyword": "单车"}, "first": 2, "after": after}
            )
            page = body["data"]["tickets"]
            seen += [e["node"]["number"] for e in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                return seen
            after = page["pageInfo"]["endCursor"]

    newest_first = [m.ticket.number for m in reversed(made)]
    assert await pages() == newest_first  # windows from the index
    monkeypatch.setattr(search, "COUNTED", 5)
    with use_scope(b.scope()):
        walked = await search.candidates("单车", newest_first=True, size=3)
    assert walked == found
    assert await pages() == newest_first  # windows walked in received order
    # the newest are not closed: the window holds none of the page, the plain search does
    assert await _numbers(world, b, "单车", status=["CLOSED"]) == [made[1].ticket.number]
    body = await world.gql(
        b, "agent", SEARCH, {"f": {"keyword": "单车"}, "first": 100, "sort": "DEADLINE_ASC"}
    )
    assert len(body["data"]["tickets"]["edges"]) == 8


PLAN = (
    "EXPLAIN SELECT id FROM tickets t "
    "WHERE hotline_ticket_terms(t.content, t.address) @@ hotline_ticket_query('路灯')"
)


async def test_the_index_serves_the_functions_role_and_not_the_runtime_role(
    world: World,
) -> None:
    """Why the function exists: under FORCE RLS a non-leakproof operator (``@@``) is no
    index condition for the runtime role, however costly the alternative; the function's
    role, whose own policy puts no tenant condition first, gets the GIN index."""
    tenant = world.alpha.tenant.id

    async def plan(conn: asyncpg.Connection) -> str:
        await conn.execute("SET enable_seqscan = off")
        await conn.execute(
            "SELECT set_config('app.scope', 'city', false), "
            f"set_config('app.tenant_id', '{tenant}', false)"
        )
        return "\n".join(r[0] for r in await conn.fetch(PLAN))

    app = await asyncpg.connect(**credentials(world.settings.app_database_url()))
    owner = await asyncpg.connect(**credentials(world.settings.database_url))
    try:
        assert "tickets_terms" not in await plan(app)
        await owner.execute("SET ROLE hotline_ticket_search")
        assert "Bitmap Index Scan on tickets_terms" in await plan(owner)
    finally:
        await app.close()
        await owner.close()
