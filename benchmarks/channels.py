"""Intake channels: Open311 ``POST requests`` and the signed SMS webhook against GraphQL
``createTicket``, tickets per second through the same ASGI app (every middleware, one
process, requests one after another), measured in the same run on the same database.

The aim (docs/channels.md): one pipeline costs the same whatever the door, so each
channel should reach at least 80% of createTicket's rate. Every request is a new
ticket: its own message id, caller and place, so no door is saved by the dedupe or
burdened by duplicate proposals the others do not make.

``python -m benchmarks.channels [tickets_per_door]``
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from collections.abc import Awaitable, Callable

import httpx
from tortoise import Tortoise

from benchmarks.environment import bench_environment
from benchmarks.tickets import _statements, _world
from hotline.platform.db.config import init_orm
from hotline.platform.db.migrate import ensure_app_role, run_migrations
from hotline.platform.redis import close_redis
from hotline.platform.settings import Settings, get_settings
from hotline.platform.tenancy import use_scope
from hotline.schema.app import create_app
from hotline.schema.ids import encode_id
from hotline.tenants.accounts.api_keys import create_api_key
from hotline.tenants.channels import keys
from hotline.tenants.kernel.access import Actor
from hotline.tenants.kernel.roles import Role

TICKETS = 300
CREATE = """mutation($c: ID!, $phone: String!, $lng: Decimal!, $lat: Decimal!) {
  createTicket(input: { channel: PHONE, kind: COMPLAINT, content: "小区门口有违建，影响通行",
  citizenPhone: $phone, categoryId: $c, location: { lng: $lng, lat: $lat } }) {
  ticket { id number } errors { code message } } }"""


async def _rates(doors: dict[str, Callable[[], Awaitable[None]]], times: int) -> dict[str, float]:
    """Requests per second of each door, the doors taking turns request by request (on
    a shared, loaded machine, rounds of one door at a time measured the load's swings
    more than the doors), each door's total time over its requests."""
    for step in doors.values():
        await step()  # warm caches
    spent = dict.fromkeys(doors, 0.0)
    for _ in range(times):
        for name, step in doors.items():
            start = time.perf_counter()
            await step()
            spent[name] += time.perf_counter() - start
    return {name: times / seconds for name, seconds in spent.items()}


async def measure(times: int) -> dict[str, tuple[float, int]]:
    city = await _world()
    admin = Actor(
        user_id=None,
        tenant_id=city.tenant_id,
        province_id=city.province_id,
        roles=frozenset({Role.TENANT_ADMIN}),
    )
    with use_scope(city.scope):
        _, api_key = await create_api_key(actor=admin, name="bench", roles=[Role.AGENT])
    secret = await keys.rotate_secret(actor=admin, channel="sms")
    app = create_app(get_settings(), manage_orm=False)
    serial = itertools.count(1)

    def place() -> tuple[float, float]:
        n = next(serial)  # a new place every time, ~1 km apart: no duplicate proposals
        return 116.5 + (n % 100) * 0.01, 36.3 + (n // 100) * 0.01

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bench"
    ) as client:

        async def graphql() -> None:
            lng, lat = place()
            response = await client.post(
                "/graphql",
                json={
                    "query": CREATE,
                    "variables": {
                        "c": str(encode_id("Category", city.category.id)),
                        "phone": f"139{next(serial):08d}",
                        "lng": str(lng),
                        "lat": str(lat),
                    },
                },
                headers={"X-Api-Key": api_key},
            )
            body = response.json()
            if body.get("errors") or body["data"]["createTicket"]["errors"]:
                raise RuntimeError(body)

        async def open311() -> None:
            lng, lat = place()
            response = await client.post(
                "/open311/v2/requests.json",
                data={
                    "jurisdiction_id": "jinan",
                    "api_key": api_key,
                    "service_code": str(city.category.parent_id),
                    "attribute[subcategory]": str(city.category.id),
                    "lat": str(lat),
                    "long": str(lng),
                    "phone": f"139{next(serial):08d}",
                    "description": "小区门口有违建，影响通行",
                },
            )
            if response.status_code != 200:
                raise RuntimeError(response.text)

        async def sms() -> None:
            n = next(serial)
            body = json.dumps(
                {"message_id": f"b-{n}", "from": f"139{n:08d}", "text": f"经十路{n}号门口有违建"},
                ensure_ascii=False,
            ).encode()
            stamp = str(int(time.time()))
            response = await client.post(
                "/channels/sms/jinan",
                content=body,
                headers={
                    "X-Hotline-Timestamp": stamp,
                    "X-Hotline-Signature": keys.sign(secret, stamp, body),
                },
            )
            if response.json().get("result") != "created":
                raise RuntimeError(response.text)

        doors: dict[str, Callable[[], Awaitable[None]]] = {
            "graphql": graphql,
            "open311": open311,
            "sms": sms,
        }
        rates = await _rates(doors, times)
        return {door: (rate, await _statements(doors[door])) for door, rate in rates.items()}


def report(rows: dict[str, tuple[float, int]]) -> None:
    print("channels: tickets/s through one ASGI app, each door vs GraphQL createTicket")
    print(f"{'door':36} {'tickets/s':>10} {'vs createTicket':>16} {'SQL':>5}")
    names = {
        "graphql": "GraphQL createTicket (API key)",
        "open311": "Open311 POST requests (api_key)",
        "sms": "SMS webhook (signed)",
    }
    base = rows["graphql"][0]
    for door, (rate, statements) in rows.items():
        print(f"{names[door]:36} {rate:10.1f} {rate / base:15.0%} {statements:5}")
    print("(SQL: statements of one request as the ORM logs them, without BEGIN/COMMIT)")


async def _run(settings: Settings, times: int) -> None:
    await run_migrations(settings)
    await ensure_app_role(settings)
    await init_orm(settings)
    try:
        report(await measure(times))
    finally:
        await close_redis()
        await Tortoise.close_connections()


def main(tickets: int = TICKETS) -> int:
    with bench_environment(need_s3=False):
        asyncio.run(_run(get_settings(), tickets))
    return 0


if __name__ == "__main__":
    sys.exit(main(*[int(a) for a in sys.argv[1:2]]))
