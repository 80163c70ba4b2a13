"""The center's faces of the channels: the agent's screen of an answered call (by the
number the CTI pushed; masked, audited), ``createTicket(callId)`` linking the call, and
the queue of duplicate proposals with accept (merge) and dismiss — each refusing another
city's ids."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
import uvicorn

from hotline.platform.outbox.models import OutboxMessage
from hotline.platform.senders.config import reset_delivery_settings
from hotline.platform.senders.errors import SendFailed
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.accounts import api_keys
from hotline.tenants.accounts.memberships import load_actor
from hotline.tenants.channels import calls
from hotline.tenants.channels.models import DuplicateProposal, ProposalStatus
from hotline.tenants.evidence.models import Evidence
from hotline.tenants.kernel.audit import AuditEvent
from hotline.tenants.kernel.roles import Role
from hotline.tenants.statistics.calls import CALL_LOCK, LOCK_CALLS_SQL
from hotline.tenants.statistics.models import CallRecord
from hotline.tenants.tickets.models import Status as TicketStatus
from hotline.tenants.tickets.models import Ticket
from tests.tickets_api.conftest import City, World

PUSH = """
mutation ($r: [CallRecordInput!]!) {
  pushCallRecords(records: $r) { created updated unchanged errors { code } }
}
"""
SCREEN = """
query ($c: String!) {
  callerScreen(callId: $c) {
    callId queue seat callerPhone openTickets { number } history { number }
  }
}
"""
CREATE = """
mutation ($input: CreateTicketInput!) {
  createTicket(input: $input) { ticket { id number } created errors { code field } }
}
"""
QUEUE = """
query { duplicateProposals { id reason status ticket { number } candidate { number } } }
"""
PAGE = """
query ($a: ID!) { duplicateProposals(after: $a) { id } }
"""
ACCEPT = """
mutation ($p: ID!) {
  acceptDuplicateProposal(proposalId: $p) { proposal { status } errors { code field } }
}
"""
DISMISS = """
mutation ($p: ID!) {
  dismissDuplicateProposal(proposalId: $p) { proposal { status } errors { code field } }
}
"""


async def _cti_key(city: City) -> str:
    actor = await load_actor(
        user_id=city.users["admin"], tenant_id=city.tenant.id, province_id=city.tenant.province_id
    )
    with use_scope(city.scope(actor.user_id)):
        _, plaintext = await api_keys.create_api_key(actor=actor, name="CTI", roles=[Role.AGENT])
    return plaintext


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def cti(world: World) -> dict[str, str]:
    return {city.slug: await _cti_key(city) for city in (world.alpha, world.beta)}


async def _push(world: World, city: City, key: str, **record: Any) -> dict[str, Any]:
    response = await world.client.post(
        "/graphql",
        json={"query": PUSH, "variables": {"r": [record]}},
        headers={"X-Api-Key": key, "X-Hotline-Tenant": city.slug},
    )
    result: dict[str, Any] = response.json()["data"]["pushCallRecords"]
    return result


def _answered(call_id: str, number: str, **extra: Any) -> dict[str, Any]:
    return {
        "callId": call_id,
        "startedAt": datetime(2026, 11, 30, 1, 0, tzinfo=UTC).isoformat(),
        "answeredAt": datetime(2026, 11, 30, 1, 1, tzinfo=UTC).isoformat(),
        "queue": "main",
        "seat": "s-07",
        "outcome": "ANSWERED",
        "callerNumber": number,
        **extra,
    }


def _ticket(phone: str, content: str, **extra: Any) -> dict[str, Any]:
    return {
        "input": {
            "channel": "PHONE",
            "kind": "COMPLAINT",
            "content": content,
            "citizenPhone": phone,
            **extra,
        }
    }


async def test_the_agent_screen_shows_the_callers_tickets_masked_and_audited(
    world: World, cti: dict[str, str]
) -> None:
    alpha, beta = world.alpha, world.beta
    first = await world.gql(alpha, "agent", CREATE, _ticket("13911112222", "小区门口路灯不亮"))
    number = first["data"]["createTicket"]["ticket"]["number"]
    earlier = await world.gql(alpha, "agent", CREATE, _ticket("13911112222", "去年的井盖问题"))
    old = earlier["data"]["createTicket"]["ticket"]["number"]
    with use_scope(alpha.scope()):  # an earlier, closed one of the same caller
        await Ticket.filter(number=old).update(status=TicketStatus.CLOSED)
    pushed = await _push(world, alpha, cti["alpha"], **_answered("c-100", "139-1111-2222"))
    assert pushed["created"] == 1

    body = await world.gql(alpha, "agent", SCREEN, {"c": "c-100"})
    screen = body["data"]["callerScreen"]
    assert (screen["callId"], screen["queue"], screen["seat"]) == ("c-100", "main", "s-07")
    assert screen["callerPhone"] == "139****2222"
    assert "13911112222" not in str(screen)
    assert [t["number"] for t in screen["openTickets"]] == [number]
    assert [t["number"] for t in screen["history"]] == [old]
    with use_scope(alpha.scope()):
        audit = await AuditEvent.filter(action="caller.screen", target="call:c-100").count()
    assert audit == 1

    # another city's call id is NOT_FOUND, and the lookup of beta shows nothing of alpha
    other = await world.gql(beta, "agent", SCREEN, {"c": "c-100"})
    assert world.codes(other) == ["NOT_FOUND"]
    # a department handler may not look callers up
    denied = await world.gql(alpha, "district", SCREEN, {"c": "c-100"})
    assert world.codes(denied) == ["PERMISSION_DENIED"]


async def test_create_ticket_links_the_call_and_a_later_push_keeps_the_link(
    world: World, cti: dict[str, str]
) -> None:
    alpha, beta = world.alpha, world.beta
    await _push(world, alpha, cti["alpha"], **_answered("c-200", "13922223333"))
    await _push(world, beta, cti["beta"], **_answered("c-beta", "13922223333"))
    made = await world.gql(
        alpha, "agent", CREATE, _ticket("13922223333", "噪音扰民", callId="c-200")
    )
    number = made["data"]["createTicket"]["ticket"]["number"]
    ended = _answered("c-200", "13922223333", endedAt="2026-11-30T01:09:00+00:00")
    assert (await _push(world, alpha, cti["alpha"], **ended))["updated"] == 1
    with use_scope(alpha.scope()):
        call = await CallRecord.get(call_id="c-200")
        ticket = await Ticket.get(number=number)
    assert (call.ticket_id, call.ticket_number) == (ticket.id, number)

    # another city's call id: NOT_FOUND and nothing stored
    with use_scope(alpha.scope()):
        before = await Ticket.all().count()
    refused = await world.gql(
        alpha, "agent", CREATE, _ticket("13922223333", "另一城市的通话", callId="c-beta")
    )
    assert refused["data"]["createTicket"]["errors"] == [{"code": "NOT_FOUND", "field": "callId"}]
    with use_scope(alpha.scope()):
        assert await Ticket.all().count() == before
    with use_scope(beta.scope()):
        assert (await CallRecord.get(call_id="c-beta")).ticket_id is None


async def _proposal_ids(world: World, city: City) -> list[str]:
    body = await world.gql(city, "dispatcher", QUEUE)
    return [p["id"] for p in body["data"]["duplicateProposals"]]


async def test_the_center_accepts_or_dismisses_duplicate_proposals(world: World) -> None:
    alpha, beta = world.alpha, world.beta
    first = await world.gql(alpha, "agent", CREATE, _ticket("13933334444", "楼下烧烤油烟"))
    second = await world.gql(alpha, "agent", CREATE, _ticket("13933334444", "烧烤摊又来了"))
    third = await world.gql(alpha, "agent", CREATE, _ticket("13933334444", "油烟还是很大"))
    numbers = [b["data"]["createTicket"]["ticket"]["number"] for b in (first, second, third)]
    pairs = {
        (p["ticket"]["number"], p["candidate"]["number"]): p
        for p in (await world.gql(alpha, "dispatcher", QUEUE))["data"]["duplicateProposals"]
    }
    assert {(numbers[1], numbers[0]), (numbers[2], numbers[0]), (numbers[2], numbers[1])} <= set(
        pairs
    )
    accept, dismiss = pairs[numbers[1], numbers[0]], pairs[numbers[2], numbers[0]]

    # another city's proposal id: NOT_FOUND, nothing changed; nor is it in its queue
    for mutation, name in (
        (ACCEPT, "acceptDuplicateProposal"),
        (DISMISS, "dismissDuplicateProposal"),
    ):
        foreign = await world.gql(beta, "dispatcher", mutation, {"p": accept["id"]})
        assert foreign["data"][name]["errors"] == [{"code": "NOT_FOUND", "field": "proposalId"}]
    assert accept["id"] not in await _proposal_ids(world, beta)
    paged = await world.gql(beta, "dispatcher", PAGE, {"a": accept["id"]})
    assert world.codes(paged) == ["NOT_FOUND"]  # another city's proposal as the cursor
    own = await world.gql(alpha, "dispatcher", PAGE, {"a": accept["id"]})
    assert accept["id"] not in [p["id"] for p in own["data"]["duplicateProposals"]]
    assert accept["id"] in await _proposal_ids(world, alpha)
    # a department may not decide (the center's merge permission)
    denied = await world.gql(alpha, "district", ACCEPT, {"p": accept["id"]})
    assert denied["data"]["acceptDuplicateProposal"]["errors"][0]["code"] == "PERMISSION_DENIED"

    done = await world.gql(alpha, "dispatcher", ACCEPT, {"p": accept["id"]})
    assert done["data"]["acceptDuplicateProposal"]["proposal"]["status"] == "merged"
    with use_scope(alpha.scope()):
        merged = await Ticket.get(number=numbers[1])
        into = await Ticket.get(number=numbers[0])
    assert (merged.status, merged.merged_into_id) == (TicketStatus.MERGED, into.id)
    again = await world.gql(alpha, "dispatcher", ACCEPT, {"p": accept["id"]})
    assert again["data"]["acceptDuplicateProposal"]["errors"][0]["code"] == "CONFLICT"
    queue = await _proposal_ids(world, alpha)
    assert accept["id"] not in queue
    assert pairs[numbers[2], numbers[1]]["id"] not in queue  # its candidate is merged away

    dismissed = await world.gql(alpha, "dispatcher", DISMISS, {"p": dismiss["id"]})
    assert dismissed["data"]["dismissDuplicateProposal"]["proposal"]["status"] == "dismissed"
    assert dismiss["id"] not in await _proposal_ids(world, alpha)
    with use_scope(alpha.scope()):
        kept = await Ticket.get(number=numbers[2])
        row = await DuplicateProposal.get(ticket_id=kept.id, candidate_id=into.id)
    assert (kept.status, row.status) != (TicketStatus.MERGED, ProposalStatus.PROPOSED)
    assert row.status is ProposalStatus.DISMISSED


_AMR = b"#!AMR\n" + b"\x3c" + bytes(31)  # one AMR-NB frame


@pytest_asyncio.fixture(loop_scope="session")
async def recordings() -> AsyncIterator[str]:
    """The CTI's recording server as the tests see it (loopback)."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        # /busy/…: the server is overloaded for now; /gone/…: the recording is not there
        status = {"busy": 503, "gone": 404}.get(scope["path"].split("/")[1], 200)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"audio/amr")],
            }
        )
        await send({"type": "http.response.body", "body": _AMR if status == 200 else b""})

    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 — uvicorn offers no event to wait on
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    server.should_exit = True
    await task


async def _recording_rows(city: City, call_id: str) -> list[OutboxMessage]:
    with use_scope(Scope.platform()):
        rows = await OutboxMessage.filter(kind="call_recording", tenant_id=city.tenant.id)
    return [r for r in rows if r.payload["call_id"] == call_id]


async def test_a_linked_calls_recording_becomes_audio_evidence_once(
    world: World, cti: dict[str, str], recordings: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    alpha = world.alpha
    # the recording pushed first, then the link; and the link first, the recording later
    await _push(
        world,
        alpha,
        cti["alpha"],
        **_answered("c-300", "13944445555", recordingUrl=f"{recordings}/c-300.amr"),
    )
    early = await world.gql(
        alpha, "agent", CREATE, _ticket("13944445555", "路面坑洼", callId="c-300")
    )
    await _push(world, alpha, cti["alpha"], **_answered("c-301", "13944446666"))
    late = await world.gql(
        alpha, "agent", CREATE, _ticket("13944446666", "违章停车", callId="c-301")
    )
    assert await _recording_rows(alpha, "c-301") == []  # nothing to fetch yet
    ended = _answered(
        "c-301",
        "13944446666",
        endedAt="2026-11-30T01:09:00+00:00",
        recordingUrl=f"{recordings}/c-301.amr",
    )
    assert (await _push(world, alpha, cti["alpha"], **ended))["updated"] == 1

    monkeypatch.setenv("HOTLINE_WEBHOOK_ALLOW_PRIVATE", "true")  # the server is loopback
    reset_delivery_settings()
    try:
        for call_id, made in (("c-300", early), ("c-301", late)):
            [row] = await _recording_rows(alpha, call_id)
            with use_scope(alpha.scope()):
                await calls.deliver_recording(row)
                await calls.deliver_recording(row)  # the job again: nothing more
                ticket = await Ticket.get(number=made["data"]["createTicket"]["ticket"]["number"])
                evidence = await Evidence.filter(ticket_id=ticket.id)
                call = await CallRecord.get(call_id=call_id)
            assert [(e.kind.value, e.content_type) for e in evidence] == [("audio", "audio/amr")]
            assert call.recording_evidence_id == evidence[0].id
    finally:
        monkeypatch.delenv("HOTLINE_WEBHOOK_ALLOW_PRIVATE")
        reset_delivery_settings()


async def test_a_recording_server_that_is_busy_is_tried_again_one_that_lacks_it_is_not(
    world: World, cti: dict[str, str], recordings: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    alpha = world.alpha
    for call_id, phone, path in (
        ("c-310", "13944447777", "busy"),
        ("c-311", "13944448888", "gone"),
    ):
        await _push(
            world,
            alpha,
            cti["alpha"],
            **_answered(call_id, phone, recordingUrl=f"{recordings}/{path}/{call_id}.amr"),
        )
        await world.gql(alpha, "agent", CREATE, _ticket(phone, "井盖缺失", callId=call_id))
    monkeypatch.setenv("HOTLINE_WEBHOOK_ALLOW_PRIVATE", "true")  # the server is loopback
    reset_delivery_settings()
    try:
        outcomes = {}
        for call_id in ("c-310", "c-311"):
            [row] = await _recording_rows(alpha, call_id)
            with use_scope(alpha.scope()), pytest.raises(SendFailed) as failed:
                await calls.deliver_recording(row)
            outcomes[call_id] = failed.value.permanent
        assert outcomes == {"c-310": False, "c-311": True}
        with use_scope(alpha.scope()):
            for call_id in ("c-310", "c-311"):
                assert (await CallRecord.get(call_id=call_id)).recording_evidence_id is None
    finally:
        monkeypatch.delenv("HOTLINE_WEBHOOK_ALLOW_PRIVATE")
        reset_delivery_settings()


async def _waiting_on_call_locks(conn: asyncpg.Connection) -> int:
    waiting: int = await conn.fetchval(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
        "AND classid = $1",
        CALL_LOCK,
    )
    return waiting


async def test_two_concurrent_pushes_of_one_call_on_different_days_keep_one_row(
    world: World, cti: dict[str, str]
) -> None:
    """The table is unique on (city, call id, day): without the call's lock two pushes
    of one call with different days each found no row and both inserted. Here the
    call's lock is held while both pushes start; each must wait for it (seen in
    pg_locks), and once it is released they run one after the other: one row."""
    alpha = world.alpha
    first = _answered("c-400", "13955550000")
    moved = {
        **first,
        "startedAt": datetime(2026, 12, 1, 1, 0, tzinfo=UTC).isoformat(),
        "answeredAt": datetime(2026, 12, 1, 1, 1, tzinfo=UTC).isoformat(),
    }
    holder = await asyncpg.connect(world.settings.database_url)  # a session of its own
    try:
        async with holder.transaction():
            await holder.execute(LOCK_CALLS_SQL, CALL_LOCK, str(alpha.tenant.id), ["c-400"])
            pushes = [
                asyncio.create_task(_push(world, alpha, cti["alpha"], **record))
                for record in (first, moved)
            ]
            while await _waiting_on_call_locks(holder) < 2:
                assert not all(p.done() for p in pushes), "the pushes did not wait for the call"
                await asyncio.sleep(0.01)
    finally:
        await holder.close()
    results = await asyncio.gather(*pushes)
    assert sorted((r["created"], r["updated"]) for r in results) == [(0, 1), (1, 0)]
    with use_scope(alpha.scope()):
        rows = await CallRecord.filter(call_id="c-400")
    assert len(rows) == 1
    assert rows[0].day.isoformat() in ("2026-11-30", "2026-12-01")


async def test_a_corrected_recording_url_is_fetched(
    world: World, cti: dict[str, str], recordings: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job's send key names the recording's URL: a URL the CTI corrects after the
    first one failed queues a job of its own (one keyed by the call alone was deduped
    by the outbox and never ran), and the first job, run again, fetches nothing."""
    alpha = world.alpha
    phone = "13944449999"
    broken = _answered("c-330", phone, recordingUrl=f"{recordings}/gone/c-330.amr")
    await _push(world, alpha, cti["alpha"], **broken)
    made = await world.gql(alpha, "agent", CREATE, _ticket(phone, "噪音扰民", callId="c-330"))
    corrected = {**broken, "recordingUrl": f"{recordings}/c-330.amr"}
    assert (await _push(world, alpha, cti["alpha"], **corrected))["updated"] == 1
    old, new = sorted(await _recording_rows(alpha, "c-330"), key=lambda r: r.id)
    assert old.send_key != new.send_key
    monkeypatch.setenv("HOTLINE_WEBHOOK_ALLOW_PRIVATE", "true")  # the server is loopback
    reset_delivery_settings()
    try:
        with use_scope(alpha.scope()):
            await calls.deliver_recording(old)  # stale: the call names another URL now
            ticket = await Ticket.get(number=made["data"]["createTicket"]["ticket"]["number"])
            assert await Evidence.filter(ticket_id=ticket.id).count() == 0
            await calls.deliver_recording(new)
            evidence = await Evidence.filter(ticket_id=ticket.id)
            call = await CallRecord.get(call_id="c-330")
        assert [e.kind.value for e in evidence] == ["audio"]
        assert call.recording_evidence_id == evidence[0].id
    finally:
        monkeypatch.delenv("HOTLINE_WEBHOOK_ALLOW_PRIVATE")
        reset_delivery_settings()
