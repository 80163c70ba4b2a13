"""A live view lasts only as long as its credentials: logout (session revoked) and token
expiry end it — at the next event and, with nothing happening, on the re-check timer.
Real uvicorn server, real graphql-transport-ws client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from hotline.platform import pubsub
from hotline.platform.auth.passwords import hash_password
from hotline.platform.settings import reset_settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.schema.ids import encode_id
from hotline.tenants.accounts import sessions as accounts
from hotline.tenants.accounts.models import Membership, User
from hotline.tenants.kernel.roles import Role
from hotline.tenants.tickets import reads

if TYPE_CHECKING:
    from tests.tickets_api.conftest import City, World

PROTOCOL = "graphql-transport-ws"
PASSWORD = "Correct-Horse-42"
INBOX = "subscription($d: ID!) { departmentInbox(departmentId: $d) { status } }"


@pytest.fixture
def recheck(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    def set_to(seconds: float) -> None:
        monkeypatch.setenv("HOTLINE_SUBSCRIPTION_RECHECK_SECONDS", str(seconds))
        reset_settings()

    yield set_to
    monkeypatch.delenv("HOTLINE_SUBSCRIPTION_RECHECK_SECONDS", raising=False)
    reset_settings()


async def _handler(city: City, name: str) -> str:
    """A district handler who logs in with a password; returns the username."""
    username = f"{city.slug}-{name}"
    with use_scope(Scope.platform()):
        user = await User.create(
            username=username, display_name=name, password_hash=hash_password(PASSWORD)
        )
    with use_scope(city.scope()):
        await Membership.create(user=user, role=Role.DEPT_HANDLER, department_id=city.district.id)
    return username


async def _login(world: World, username: str) -> tuple[str, str]:
    response = await world.client.post(
        "/graphql",
        json={
            "query": "mutation($u: String!, $p: String!) { login(username: $u, password: $p) "
            "{ tokens { accessToken refreshToken } errors { code } } }",
            "variables": {"u": username, "p": PASSWORD},
        },
    )
    tokens = response.json()["data"]["login"]["tokens"]
    return tokens["accessToken"], tokens["refreshToken"]


async def _logout(world: World, refresh_token: str) -> None:
    response = await world.client.post(
        "/graphql",
        json={
            "query": "mutation($r: String!) { logout(refreshToken: $r) { ok } }",
            "variables": {"r": refresh_token},
        },
    )
    assert response.json()["data"]["logout"]["ok"] is True, response.text


async def receive(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
    return message


async def _watch_inbox(ws: ClientConnection, city: City, token: str) -> None:
    init = {"authorization": f"Bearer {token}", "tenant": city.slug}
    await ws.send(json.dumps({"type": "connection_init", "payload": init}))
    assert (await receive(ws))["type"] == "connection_ack"
    variables = {"d": str(encode_id("Department", city.district.id))}
    payload = {"query": INBOX, "variables": variables}
    await ws.send(json.dumps({"id": "i", "type": "subscribe", "payload": payload}))
    await asyncio.sleep(0.2)  # let the resolver subscribe to its channel


async def _ticket_notice(city: City) -> int:
    return await pubsub.publish(
        reads.inbox_channel(city.tenant.id, city.district.id), {"ticket_id": 0}
    )


async def test_logout_ends_the_subscription_at_the_next_event(
    world: World, server_url: str, recheck: Any
) -> None:
    recheck(3600)  # the timer plays no part here
    a = world.alpha
    access, refresh = await _login(world, await _handler(a, "evening"))
    async with connect(server_url, subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
        await _watch_inbox(ws, a, access)
        await _logout(world, refresh)
        assert await _ticket_notice(a) == 1  # the subscriber was still listening…
        assert await receive(ws) == {"id": "i", "type": "complete"}  # …and is now ended


async def test_logout_ends_an_idle_subscription_on_the_timer(
    world: World, server_url: str, recheck: Any
) -> None:
    recheck(0.2)
    a = world.alpha
    access, refresh = await _login(world, await _handler(a, "night"))
    async with connect(server_url, subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
        await _watch_inbox(ws, a, access)
        await _logout(world, refresh)
        # nothing is published: the re-check alone ends the view
        assert await receive(ws) == {"id": "i", "type": "complete"}


async def test_an_expired_token_ends_the_subscription(
    world: World, server_url: str, recheck: Any
) -> None:
    recheck(3600)  # the token's own expiry wakes the check
    a = world.alpha
    username = await _handler(a, "shortlived")
    token = await accounts.issue_token_for(username=username, ttl=timedelta(seconds=3))
    async with connect(server_url, subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
        await _watch_inbox(ws, a, token)
        assert await receive(ws) == {"id": "i", "type": "complete"}
