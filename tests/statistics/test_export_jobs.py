"""Export jobs beyond the happy path (docs/statistics.md, "Exports"):

* Redis unreachable between the commit and the enqueue leaves the export QUEUED; the
  stale-job sweep enqueues it again under its stable job id, a second sweep adds
  nothing, a real arq worker runs it once, and a later sweep leaves it alone.
* ``exportProgress`` over a real graphql-transport-ws connection: the state now, each
  step the worker writes, the end; another city's export id is NOT_FOUND; an expired
  token ends the subscription.
* Province-wide exports: a province admin exports the province's ticket list and
  report under the province scope (every city of the province, no other province);
  city roles are refused; the row and the object are the province's only.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio
import uvicorn
from arq.constants import job_key_prefix
from arq.jobs import Job
from strawberry import relay
from websockets.asyncio.client import ClientConnection, connect

from hotline.platform import jobs, storage
from hotline.platform.clock import travel
from hotline.platform.redis import close_redis
from hotline.platform.settings import Settings, reset_settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.schema.app import create_app
from hotline.schema.ids import encode_id
from hotline.tenants.accounts.models import User
from hotline.tenants.accounts.sessions import issue_token_for
from hotline.tenants.statistics import export_files, export_runs, exports
from hotline.tenants.statistics.models import ExportJob
from hotline.workers.exports import run_export
from hotline.workers.requeue import STALE_AFTER, requeue_current_scope
from hotline.workers.runner import Worker
from hotline.workers.settings import WorkerSettings
from tests import isolation_registry
from tests.world import City, World

REQUEST = """mutation($input: RequestExportInput!) {
  requestExport(input: $input) { export { id status kind } errors { field code message } } }"""
EXPORT = """query($id: ID!) { export(id: $id) {
  id status rowsDone rowsTotal error download { url } } }"""
PROGRESS = """subscription($id: ID!) { exportProgress(id: $id) {
  status rowsDone rowsTotal download { url } } }"""
PROTOCOL = "graphql-transport-ws"
SH = ZoneInfo("Asia/Shanghai")


@dataclass
class Env:
    world: World
    client: httpx.AsyncClient
    tokens: dict[str, str]  # name → bearer token
    url: str  # ws:// of a real uvicorn server

    async def gql(
        self, who: str, city: City | None, query: str, variables: dict[str, Any]
    ) -> dict[str, Any]:
        """As ``who``, in ``city`` (None: no city header, as a province admin may)."""
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        if city is not None:
            headers["X-Hotline-Tenant"] = city.slug
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        isolation_registry.record(query, body)
        return body


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(world: World, db: Settings) -> AsyncIterator[Env]:
    await storage.ensure_bucket(db)
    for city in (world.alpha, world.gamma, world.beta):
        await city.ticket("路灯不亮")
    await world.alpha.ticket("噪音扰民")
    with use_scope(Scope.platform()):
        shandong_admin = await User.get(id=world.province_admin.user_id)
        jiangsu_admin = await User.get(id=world.jiangsu_admin.user_id)
    tokens = {
        "alpha": await world.alpha.token(world.alpha.supervisor),
        "alpha-admin": await world.alpha.token(world.alpha.admin),
        "beta": await world.beta.token(world.beta.supervisor),
        "province": await issue_token_for(username=shandong_admin.username, ttl=timedelta(hours=1)),
        "jiangsu": await issue_token_for(username=jiangsu_admin.username, ttl=timedelta(hours=1)),
    }
    app = create_app(db, manage_orm=False)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 — uvicorn offers no event to wait on
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        yield Env(world, client, tokens, f"ws://127.0.0.1:{port}/graphql")
    server.should_exit = True
    await task
    await jobs.close_pools()
    await close_redis()


def _key(gid: str) -> int:
    return int(relay.GlobalID.from_id(gid).node_id)


async def _request(env: Env, who: str, city: City, input: dict[str, Any]) -> str:
    body = await env.gql(who, city, REQUEST, {"input": input})
    payload = body["data"]["requestExport"]
    assert payload["errors"] == [], payload
    assert payload["export"]["status"] == "QUEUED"
    return str(payload["export"]["id"])


async def _queued(job_id: str) -> bool:
    """Whether arq holds a job of this id in the queue."""
    return bool(await (await jobs.pool()).exists(job_key_prefix + jobs.job_key(job_id)))


@pytest.fixture
def redis_down(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``with redis_down():`` — the jobs port talks to a port where nothing listens (a
    real refused connection), as when Redis goes away between a commit and its enqueue."""

    class Down:
        def __enter__(self) -> None:
            monkeypatch.setenv("HOTLINE_REDIS_URL", "redis://127.0.0.1:1/0")
            monkeypatch.setenv("HOTLINE_REDIS_TIMEOUT_SECONDS", "0.5")
            reset_settings()

        def __exit__(self, *exc: object) -> None:
            monkeypatch.undo()
            reset_settings()

    return Down


# --- the stale-job sweep ---------------------------------------------------------------------


async def test_an_export_whose_enqueue_failed_is_swept_and_runs_once(
    env: Env, redis_down: Any
) -> None:
    alpha = env.world.alpha
    actor = alpha.supervisor
    with redis_down(), use_scope(alpha.scope()):
        job = await exports.request_export(
            actor=actor,
            request=exports.ExportRequest(
                kind=exports.ExportKind.TICKETS, format=exports.ExportFormat.CSV
            ),
        )
    # committed and answered, but nothing reached the queue
    assert job.status == "queued"
    assert not await _queued(f"export:{job.id}")
    with use_scope(alpha.scope()):
        assert await requeue_current_scope() == 0  # not stale yet
        with travel(datetime.now(UTC) + STALE_AFTER + timedelta(seconds=5)):
            assert await requeue_current_scope() == 1
            assert await _queued(f"export:{job.id}")
            assert await requeue_current_scope() == 0  # arq holds the id: nothing more
    worker = Worker(
        functions=WorkerSettings.functions,
        queue_name=jobs.queue_name(),
        redis_pool=await jobs.pool(),
        burst=True,
        max_burst_jobs=50,
        handle_signals=False,
        poll_delay=0.05,
        keep_result=60,
    )
    await worker.async_run()  # (other tests' queued exports, if any, run too: no matter)
    assert worker.jobs_failed == 0
    result = await Job(jobs.job_key(f"export:{job.id}"), await jobs.pool()).result_info()
    assert result is not None
    assert (result.success, result.job_try, result.result) == (True, 1, 2)  # once, 2 rows
    with use_scope(alpha.scope()):
        done = await ExportJob.get(id=job.id)
        assert (done.status, done.rows_done) == ("done", 2)
        with travel(datetime.now(UTC) + timedelta(hours=2)):
            assert await requeue_current_scope() == 0  # done: never sent again


async def test_a_province_export_whose_enqueue_failed_is_swept_in_the_province(
    env: Env, redis_down: Any
) -> None:
    w = env.world
    with redis_down(), use_scope(w.alpha.scope()):
        admin = await _province_admin_in(w.alpha)
        job = await exports.request_export(
            actor=admin,
            request=exports.ExportRequest(
                kind=exports.ExportKind.PROVINCE_TICKETS, format=exports.ExportFormat.CSV
            ),
        )
    later = datetime.now(UTC) + STALE_AFTER + timedelta(seconds=5)
    with travel(later):
        with use_scope(w.alpha.scope()):  # a city's sweep never sees the province's row
            assert await requeue_current_scope() == 0
        with use_scope(Scope.province(w.jiangsu.id)):  # nor another province's
            assert await requeue_current_scope() == 0
        with use_scope(Scope.province(w.shandong.id)):
            assert await requeue_current_scope() == 1
    assert await _queued(f"export:{job.id}")
    # the worker's own entry point, as arq calls it: province scope from province_id
    assert await run_export({}, tenant_id=None, province_id=w.shandong.id, export_id=job.id) == 3


async def _burst_worker() -> Worker:
    return Worker(
        functions=WorkerSettings.functions,
        queue_name=jobs.queue_name(),
        redis_pool=await jobs.pool(),
        burst=True,
        max_burst_jobs=50,
        handle_signals=False,
        poll_delay=0.05,
        keep_result=60,
    )


async def _killed_mid_export(env: Env, redis_down: Any, *, attempts: int, beat: datetime) -> int:
    """An export as a worker killed hard mid-run leaves it: RUNNING, ``attempts`` runs
    started, its heartbeat stopped at ``beat`` (written, as the killed run wrote it)."""
    alpha = env.world.alpha
    with redis_down(), use_scope(alpha.scope()):
        job = await exports.request_export(
            actor=alpha.supervisor,
            request=exports.ExportRequest(
                kind=exports.ExportKind.TICKETS, format=exports.ExportFormat.CSV
            ),
        )
    with use_scope(alpha.scope()):
        await ExportJob.filter(id=job.id).update(
            status="running", attempts=attempts, heartbeat_at=beat, rows_done=20_000
        )
    return int(job.id)


async def test_a_running_export_whose_heartbeat_stopped_is_swept_and_runs_once(
    env: Env, redis_down: Any
) -> None:
    alpha = env.world.alpha
    now = datetime.now(UTC)
    export_id = await _killed_mid_export(env, redis_down, attempts=1, beat=now)
    with use_scope(alpha.scope()):
        # a live heartbeat: the sweep leaves it, and a second run claims nothing
        assert await requeue_current_scope() == 0
        assert await run_export({}, tenant_id=alpha.tenant.id, export_id=export_id) == 0
        row = await ExportJob.get(id=export_id)
        assert (row.status, row.attempts, row.rows_done) == ("running", 1, 20_000)
        # the beat stopped STALE_RUNNING ago: the worker died
        stale = now - export_runs.STALE_RUNNING - timedelta(seconds=5)
        await ExportJob.filter(id=export_id).update(heartbeat_at=stale)
        assert await requeue_current_scope() == 1
        assert await _queued(f"export:{export_id}:retry1")  # the next attempt's own id
        assert await requeue_current_scope() == 0  # arq holds that id: nothing more
    worker = await _burst_worker()
    await worker.async_run()
    assert worker.jobs_failed == 0
    result = await Job(jobs.job_key(f"export:{export_id}:retry1"), await jobs.pool()).result_info()
    assert result is not None
    assert (result.success, result.job_try, result.result) == (True, 1, 2)  # once, 2 rows
    with use_scope(alpha.scope()):
        done = await ExportJob.get(id=export_id)
        assert (done.status, done.rows_done, done.attempts) == ("done", 2, 2)
        with travel(datetime.now(UTC) + timedelta(hours=2)):
            assert await requeue_current_scope() == 0  # done: never sent again


async def test_an_export_stopped_too_often_fails_with_the_reason(env: Env, redis_down: Any) -> None:
    alpha = env.world.alpha
    stale = datetime.now(UTC) - export_runs.STALE_RUNNING - timedelta(minutes=1)
    export_id = await _killed_mid_export(
        env, redis_down, attempts=export_runs.MAX_ATTEMPTS, beat=stale
    )
    with use_scope(alpha.scope()):
        assert await requeue_current_scope() == 0  # nothing sent: failed instead
        row = await ExportJob.get(id=export_id)
        assert row.status == "failed"
        assert row.error == "the export stopped 3 times before it finished; ask for it again"
        assert row.finished_at is not None
        # a late run (arq's own retry of the killed job) claims nothing
        assert await run_export({}, tenant_id=alpha.tenant.id, export_id=export_id) == 0
    body = await env.gql("alpha", alpha, EXPORT, {"id": str(encode_id("Export", export_id))})
    assert body["data"]["export"]["status"] == "FAILED"
    assert "stopped 3 times" in body["data"]["export"]["error"]
    assert body["data"]["export"]["download"] is None


async def test_a_run_that_stops_unfinished_releases_its_export(env: Env, redis_down: Any) -> None:
    alpha = env.world.alpha
    export_id = await _killed_mid_export(env, redis_down, attempts=0, beat=datetime.now(UTC))
    with use_scope(alpha.scope()):
        await ExportJob.filter(id=export_id).update(status="queued", heartbeat_at=None)
        attempt = await export_runs.claim(export_id)
        assert attempt == 1
        assert await export_runs.claim(export_id) is None  # one live run at a time
        # cancelled (a draining worker) or a transient failure arq retries: released
        await export_runs.release(export_id, attempt)
        row = await ExportJob.get(id=export_id)
        assert (row.status, row.heartbeat_at, row.attempts) == ("queued", None, 1)
        assert await export_runs.claim(export_id) == 2  # the retry claims it at once
        await export_runs.release(export_id, 1)  # an older run's release changes nothing
        assert (await ExportJob.get(id=export_id)).status == "running"


async def _province_admin_in(city: City) -> Any:
    from hotline.tenants.accounts.memberships import load_actor

    with use_scope(Scope.platform()):
        user = await User.get(username="shandong-admin")
    with use_scope(city.scope()):
        return await load_actor(
            user_id=user.id, tenant_id=city.tenant.id, province_id=city.tenant.province_id
        )


# --- exportProgress ----------------------------------------------------------------------------


async def _receive(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
    if message.get("type") == "next":
        isolation_registry.record(PROGRESS, message["payload"])
    return message


async def _subscribe(ws: ClientConnection, token: str, city: City, gid: str) -> None:
    init = {"authorization": f"Bearer {token}", "tenant": city.slug}
    await ws.send(json.dumps({"type": "connection_init", "payload": init}))
    assert (await _receive(ws))["type"] == "connection_ack"
    payload = {"query": PROGRESS, "variables": {"id": gid}}
    await ws.send(json.dumps({"id": "e", "type": "subscribe", "payload": payload}))


async def test_export_progress_is_pushed_until_done(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    alpha = env.world.alpha
    monkeypatch.setattr(export_files, "PROGRESS_EVERY", 1)  # a step per row: visible progress
    gid = await _request(env, "alpha", alpha, {"kind": "TICKETS", "format": "CSV"})
    async with connect(env.url, subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
        await _subscribe(ws, env.tokens["alpha"], alpha, gid)
        first = await _receive(ws)
        assert first["payload"]["data"]["exportProgress"]["status"] == "QUEUED"
        await run_export({}, tenant_id=alpha.id, export_id=_key(gid))
        seen: list[dict[str, Any]] = []
        while (message := await _receive(ws))["type"] == "next":
            seen.append(message["payload"]["data"]["exportProgress"])
        assert message == {"id": "e", "type": "complete"}  # ends once done
    assert seen[-1]["status"] == "DONE"
    assert (seen[-1]["rowsDone"], seen[-1]["rowsTotal"]) == (2, 2)
    assert seen[-1]["download"]["url"]
    done = [s["rowsDone"] for s in seen]
    assert done == sorted(done)  # progress only moves forward
    assert all(s["status"] in ("RUNNING", "DONE") for s in seen)


async def test_export_progress_of_another_city_or_person_is_not_found(env: Env) -> None:
    alpha, beta = env.world.alpha, env.world.beta
    gid = await _request(env, "alpha", alpha, {"kind": "TICKETS", "format": "CSV"})
    for who, city in (("beta", beta), ("alpha-admin", alpha), ("jiangsu", beta)):
        async with connect(env.url, subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
            await _subscribe(ws, env.tokens[who], city, gid)
            message = await _receive(ws)
            assert message["type"] == "next", message
            assert message["payload"]["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    # a finished export answers once and ends
    await run_export({}, tenant_id=alpha.id, export_id=_key(gid))
    async with connect(env.url, subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
        await _subscribe(ws, env.tokens["alpha"], alpha, gid)
        message = await _receive(ws)
        assert message["payload"]["data"]["exportProgress"]["status"] == "DONE"
        assert await _receive(ws) == {"id": "e", "type": "complete"}


async def test_an_expired_token_ends_export_progress(env: Env) -> None:
    alpha = env.world.alpha
    gid = await _request(env, "alpha", alpha, {"kind": "TICKETS", "format": "CSV"})
    short = await alpha.token(alpha.supervisor, ttl=timedelta(seconds=3))
    async with connect(env.url, subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
        await _subscribe(ws, short, alpha, gid)
        assert (await _receive(ws))["payload"]["data"]["exportProgress"]["status"] == "QUEUED"
        # nothing happens to the export: the token's expiry alone ends the view
        assert await _receive(ws) == {"id": "e", "type": "complete"}


# --- province-wide exports ---------------------------------------------------------------------


async def _download_csv(env: Env, who: str, city: City, gid: str) -> list[list[str]]:
    body = await env.gql(who, city, EXPORT, {"id": gid})
    export = body["data"]["export"]
    assert export["status"] == "DONE", body
    async with httpx.AsyncClient() as client:
        response = await client.get(export["download"]["url"])
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


async def test_a_province_admin_exports_the_province_ticket_list(env: Env) -> None:
    w = env.world
    gid = await _request(env, "province", w.alpha, {"kind": "PROVINCE_TICKETS", "format": "CSV"})
    assert await run_export({}, tenant_id=None, province_id=w.shandong.id, export_id=_key(gid))
    rows = await _download_csv(env, "province", w.alpha, gid)
    assert rows[0][0] == "城市 city"
    cities = sorted(r[0] for r in rows[1:])
    # alpha's and gamma's tickets (Shandong), never beta's (Jiangsu)
    assert cities == sorted([w.alpha.tenant.name] * 2 + [w.gamma.tenant.name])
    assert all(r[2].startswith("20") for r in rows[1:])  # received, in the city's zone
    with use_scope(Scope.province(w.shandong.id)):
        row = await ExportJob.across_tenants().get(id=_key(gid))
    assert row.tenant_id is None
    assert str(row.object_key).startswith(f"p/{w.shandong.id}/exports/")
    # the row is the province's only: no city scope reads it, not even its cities'
    for city in (w.alpha, w.gamma, w.beta):
        with use_scope(city.scope()):
            assert not await ExportJob.across_tenants().filter(id=_key(gid)).exists()
    with use_scope(Scope.province(w.jiangsu.id)):
        assert not await ExportJob.across_tenants().filter(id=_key(gid)).exists()
    # and a filter other cities cannot share is a clear error
    body = await env.gql(
        "province",
        w.alpha,
        REQUEST,
        {
            "input": {
                "kind": "PROVINCE_TICKETS",
                "format": "CSV",
                "filter": {"categoryId": str(encode_id("Category", w.alpha.urban.id))},
            }
        },
    )
    assert [e["code"] for e in body["data"]["requestExport"]["errors"]] == ["INVALID"]


async def test_a_province_admin_exports_the_province_report(env: Env) -> None:
    w = env.world
    today = str(datetime.now(UTC).astimezone(SH).date())
    gid = await _request(
        env,
        "province",
        w.gamma,
        {"kind": "PROVINCE_REPORT", "format": "CSV", "from": today, "to": today},
    )
    await run_export({}, tenant_id=None, province_id=w.shandong.id, export_id=_key(gid))
    rows = await _download_csv(env, "province", w.gamma, gid)
    assert rows[1][1] == "全省 province"
    assert int(rows[1][3]) >= 3  # alpha's and gamma's tickets at least
    assert sorted(r[1] for r in rows[2:]) == sorted([w.alpha.tenant.name, w.gamma.tenant.name])


async def test_a_city_without_work_orders_is_exported_unranked(env: Env) -> None:
    """A period with no work order anywhere: every city is listed, none with a place."""
    w = env.world
    quiet = {"kind": "PROVINCE_REPORT", "format": "CSV", "from": "2020-01-06", "to": "2020-01-06"}
    gid = await _request(env, "province", w.gamma, quiet)
    await run_export({}, tenant_id=None, province_id=w.shandong.id, export_id=_key(gid))
    rows = await _download_csv(env, "province", w.gamma, gid)
    assert sorted(r[1] for r in rows[2:]) == sorted([w.alpha.tenant.name, w.gamma.tenant.name])
    assert {r[0] for r in rows[2:]} == {"未排名：无工单 unranked: no work orders"}


async def test_a_province_admin_exports_the_province_without_a_city_header(env: Env) -> None:
    """As for ``provinceStatistics``: the one province the admin administers is meant;
    another province's admin, also without a header, does not find the export."""
    w = env.world
    today = str(datetime.now(UTC).astimezone(SH).date())
    body = await env.gql(
        "province",
        None,
        REQUEST,
        {"input": {"kind": "PROVINCE_REPORT", "format": "CSV", "from": today, "to": today}},
    )
    payload = body["data"]["requestExport"]
    assert payload["errors"] == [], payload
    gid = str(payload["export"]["id"])
    with use_scope(Scope.province(w.shandong.id)):
        row = await ExportJob.across_tenants().get(id=_key(gid))
    assert (row.tenant_id, row.province_id) == (None, w.shandong.id)
    await run_export({}, tenant_id=None, province_id=w.shandong.id, export_id=_key(gid))
    done = await env.gql("province", None, EXPORT, {"id": gid})
    assert done["data"]["export"]["status"] == "DONE", done
    other = await env.gql("jiangsu", None, EXPORT, {"id": gid})
    assert [e["extensions"]["code"] for e in other["errors"]] == ["NOT_FOUND"], other


async def test_city_roles_cannot_export_the_province(env: Env) -> None:
    w = env.world
    today = str(datetime.now(UTC).astimezone(SH).date())
    for kind, extra in (
        ("PROVINCE_TICKETS", {}),
        ("PROVINCE_REPORT", {"from": today, "to": today}),
    ):
        for who in ("alpha", "alpha-admin"):
            body = await env.gql(
                who, w.alpha, REQUEST, {"input": {"kind": kind, "format": "CSV", **extra}}
            )
            codes = [e["code"] for e in body["data"]["requestExport"]["errors"]]
            assert codes == ["PERMISSION_DENIED"], body
    with use_scope(Scope.province(w.shandong.id)):
        before = await ExportJob.across_tenants().filter(tenant_id=None).count()
    # the province admin's export: NOT_FOUND to a city supervisor, and to another province
    gid = await _request(env, "province", w.alpha, {"kind": "PROVINCE_TICKETS", "format": "CSV"})
    for who, city in (("alpha", w.alpha), ("alpha-admin", w.alpha), ("jiangsu", w.beta)):
        body = await env.gql(who, city, EXPORT, {"id": gid})
        assert [e["extensions"]["code"] for e in body["errors"]] == ["NOT_FOUND"], body
    with use_scope(Scope.province(w.shandong.id)):
        assert await ExportJob.across_tenants().filter(tenant_id=None).count() == before + 1
