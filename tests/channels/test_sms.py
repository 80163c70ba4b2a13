"""The SMS gateway's signed webhook: tickets, follow-ups appended, questions asked
through the outbox SMS sender, and every refusal storing nothing."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest_asyncio

from hotline.platform.outbox.models import OutboxMessage
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.channels import keys, places
from hotline.tenants.channels.models import InboundMessage
from hotline.tenants.kernel.access import Actor
from hotline.tenants.kernel.roles import Role
from hotline.tenants.routing import gazetteer
from hotline.tenants.routing.places_models import GazetteerPlace
from hotline.tenants.tickets.models import Channel, Ticket, TimelineEvent
from tests.tickets_api.conftest import City, World


def admin(city: City) -> Actor:
    return Actor(
        user_id=city.users["admin"],
        tenant_id=city.tenant.id,
        province_id=city.tenant.province_id,
        roles=frozenset({Role.TENANT_ADMIN, Role.DISPATCHER}),
    )


@dataclass
class Gateway:
    world: World
    secrets: dict[str, str]

    async def send(
        self,
        city: City,
        text: str,
        *,
        sender: str = "13900001111",
        message_id: str | None = None,
        secret: str | None = None,
        at: int | None = None,
        path: str | None = None,
    ) -> httpx.Response:
        body = json.dumps(
            {"message_id": message_id or secrets.token_hex(8), "from": sender, "text": text},
            ensure_ascii=False,
        ).encode()
        stamp = str(at if at is not None else int(time.time()))
        signature = keys.sign(secret or self.secrets[city.slug], stamp, body)
        return await self.world.client.post(
            path or f"/channels/sms/{city.slug}",
            content=body,
            headers={
                "X-Hotline-Timestamp": stamp,
                "X-Hotline-Signature": signature,
                "Content-Type": "application/json",
            },
        )


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def gateway(world: World) -> AsyncIterator[Gateway]:
    found = {}
    for city in (world.alpha, world.beta):
        found[city.slug] = await keys.rotate_secret(actor=admin(city), channel="sms")
    yield Gateway(world=world, secrets=found)


async def _state(city: City) -> tuple[int, int, int]:
    with use_scope(city.scope()):
        tickets = await Ticket.all().count()
        inbound = await InboundMessage.all().count()
    with use_scope(Scope.platform()):
        sms = await OutboxMessage.filter(kind="sms", tenant_id=city.tenant.id).count()
    return tickets, inbound, sms


async def _outbox_text(city: City, prefix: str) -> list[str]:
    with use_scope(Scope.platform()):
        rows = await OutboxMessage.filter(
            kind="sms", tenant_id=city.tenant.id, send_key__startswith=prefix
        ).order_by("id")
    return [str(r.payload["text"]) for r in rows]


async def test_a_complete_message_becomes_a_ticket_once(gateway: Gateway) -> None:
    alpha = gateway.world.alpha
    response = await gateway.send(
        alpha, "历下区泉城路1号路灯不亮已经三天了", sender="13900002222", message_id="m-1"
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["result"] == "created"
    with use_scope(alpha.scope()):
        ticket = await Ticket.get(number=body["ticket"])
    assert ticket.channel is Channel.SMS
    assert ticket.content == "历下区泉城路1号路灯不亮已经三天了"
    acks = await _outbox_text(alpha, f"sms-ack-{alpha.tenant.id}-{ticket.id}")
    assert len(acks) == 1
    assert ticket.number in acks[0]
    before = await _state(alpha)
    again = await gateway.send(alpha, "历下区泉城路1号路灯不亮已经三天了", message_id="m-1")
    assert again.json() == {"result": "duplicate", "ticket": ticket.number}
    assert await _state(alpha) == before


async def test_refusals_store_nothing(gateway: Gateway) -> None:
    alpha, beta = gateway.world.alpha, gateway.world.beta
    before = await _state(alpha), await _state(beta)
    text = "历下区泉城路2号井盖丢失很危险"
    bad = await gateway.send(alpha, text, secret="not-the-secret")
    assert bad.status_code == 401
    assert bad.json()["error"]["code"] == "AUTH_FAILED"
    other_city = await gateway.send(alpha, text, secret=gateway.secrets["beta"])
    assert other_city.status_code == 401
    old = await gateway.send(alpha, text, message_id="m-old", at=int(time.time()) - 3600)
    assert old.status_code == 401
    assert "window" in old.json()["error"]["message"]
    nowhere = await gateway.send(alpha, text, path="/channels/sms/nowhere")
    assert nowhere.status_code == 404
    no_text = await gateway.world.client.post(
        f"/channels/sms/{alpha.slug}", content=b"{}", headers={"X-Hotline-Timestamp": "1"}
    )
    assert no_text.status_code == 401
    bad_sender = await gateway.send(alpha, text, sender="not a phone")
    assert bad_sender.status_code == 400
    assert (await _state(alpha), await _state(beta)) == before


async def test_too_short_or_no_place_is_asked_then_joined(gateway: Gateway) -> None:
    alpha = gateway.world.alpha
    sender = "13900003333"
    before = await _state(alpha)
    asked = await gateway.send(alpha, "路灯坏了", sender=sender, message_id="s-1")
    assert asked.json() == {"result": "asked", "ticket": None}
    questions = await _outbox_text(alpha, f"sms-ask-{alpha.tenant.id}-")
    assert any("问题的具体情况和发生地点" in q for q in questions)
    assert (await _state(alpha))[0] == before[0]  # no ticket yet
    created = await gateway.send(alpha, "在经十路88号门口", sender=sender, message_id="s-2")
    assert created.json()["result"] == "created"
    with use_scope(alpha.scope()):
        ticket = await Ticket.get(number=created.json()["ticket"])
    assert ticket.content == "路灯坏了 在经十路88号门口"


async def test_the_citys_gazetteer_names_places(gateway: Gateway) -> None:
    alpha = gateway.world.alpha
    text = "大明湖南门的垃圾桶满了很久没人清理"
    asked = await gateway.send(alpha, text, sender="13900004444")
    assert asked.json()["result"] == "asked"
    assert await places.add_place_names(actor=admin(alpha), names=["大明湖", " 大明湖 "]) == 1
    created = await gateway.send(alpha, text, sender="13900005555")
    assert created.json()["result"] == "created"
    district = await gateway.send(
        alpha, f"{alpha.district.name} 的垃圾桶满了没人清理", sender="13900005556"
    )
    assert district.json()["result"] == "created"


async def test_sms_reads_routings_gazetteer(gateway: Gateway) -> None:
    """One gazetteer: a place and its alias saved for routing (saveGazetteerPlace) name a
    place in an SMS; the deprecated list's names are name-only gazetteer rows that mark a
    place and resolve no unit."""
    alpha = gateway.world.alpha
    text = "植物园北门的垃圾桶满了很久没人清理"
    asked = await gateway.send(alpha, text, sender="13900007770")
    assert asked.json()["result"] == "asked"
    with use_scope(alpha.scope()):
        await gazetteer.save_place(
            actor=admin(alpha),
            place_id=None,
            name="泉城植物园",
            kind="landmark",
            aliases=["植物园"],
            department_id=alpha.district.id,
        )
    created = await gateway.send(alpha, text, sender="13900007771")
    assert created.json()["result"] == "created"
    with use_scope(alpha.scope()):
        row = await GazetteerPlace.get(name="大明湖")  # added by the test above
        unit, matched = await gazetteer.resolve_place(actor=admin(alpha), text="大明湖边")
    assert (row.kind, row.department_id) == ("landmark", None)
    assert (unit, tuple(matched)) == (None, ())
    # the other city's gazetteer is its own
    beta = gateway.world.beta
    other = await gateway.send(beta, text, sender="13900007772")
    assert other.json()["result"] == "asked"


async def test_answers_are_appended_to_the_senders_open_ticket(gateway: Gateway) -> None:
    alpha = gateway.world.alpha
    sender = "13900006666"
    first = await gateway.send(alpha, "经七路20号小区门口污水外溢", sender=sender)
    number = first.json()["ticket"]
    follow_up = await gateway.send(alpha, "现在更严重了", sender=sender, message_id="f-1")
    assert follow_up.json() == {"result": "appended", "ticket": number}
    by_number = await gateway.send(
        alpha, f"关于{number}：物业说不管，请尽快处理", sender=sender, message_id="f-2"
    )
    assert by_number.json() == {"result": "appended", "ticket": number}
    repeat = await gateway.send(alpha, "现在更严重了", sender=sender, message_id="f-1")
    assert repeat.json() == {"result": "duplicate", "ticket": number}
    with use_scope(alpha.scope()):
        ticket = await Ticket.get(number=number)
        added = await TimelineEvent.filter(ticket_id=ticket.id, action="supplement").order_by("seq")
    assert [e.reason for e in added] == ["现在更严重了", f"关于{number}：物业说不管，请尽快处理"]
    # another sender's message naming the number is not appended to it
    other = await gateway.send(alpha, f"{number} 经七路20号我也看到了污水", sender="13900007777")
    assert other.json()["result"] == "created"
    assert other.json()["ticket"] != number


async def test_both_cities_take_their_own_messages(gateway: Gateway) -> None:
    for city in (gateway.world.alpha, gateway.world.beta):
        response = await gateway.send(city, "经十路100号路面塌陷请处理", sender="13900008888")
        assert response.json()["result"] == "created"
        with use_scope(city.scope()):
            assert await Ticket.get_or_none(number=response.json()["ticket"]) is not None
