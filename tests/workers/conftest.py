"""Two cities in two provinces with departments, people and tickets; real local receivers
(an HTTP server that deduplicates by Idempotency-Key, an SMTP server) and a real arq
worker run in burst mode."""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from typing import Any

import pytest
import pytest_asyncio
from aiosmtpd.controller import Controller

from hotline.platform.crypto import encrypt
from hotline.platform.jobs import pool, queue_name
from hotline.platform.redis import close_redis
from hotline.platform.senders.config import reset_delivery_settings
from hotline.platform.senders.http import close_http_clients
from hotline.platform.senders.webhook import verify
from hotline.platform.settings import Settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.accounts.models import Membership, User
from hotline.tenants.departments.models import Department, DepartmentKind
from hotline.tenants.kernel.roles import Role
from hotline.tenants.provinces.models import Province, Tenant
from hotline.tenants.tickets.models import (
    Assignment,
    AssignmentStatus,
    Channel,
    Kind,
    Status,
    Ticket,
)
from hotline.workers.runner import Worker
from hotline.workers.settings import WorkerSettings

WEBHOOK_SECRET = "whsec-test-secret"


class Receiver:
    """What a well-behaved integration does: verify, then apply each Idempotency-Key once.

    Paths choose behaviour: ``/ok``; ``/flaky/<n>`` fails the first n requests;
    ``/down`` always fails; ``/stall`` applies a key's first request, then stalls before
    answering (``stalled`` is set). It keeps connections open (HTTP/1.1) and records each
    request's client port (``peer``): one port for many requests is one reused connection.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.applied: dict[str, dict[str, Any]] = {}
        self.applications: dict[str, int] = {}
        self.failures: dict[str, int] = {}
        self.received = threading.Event()
        self.stalled = threading.Event()
        # a stalled answer waits for this (set by the test once it killed the worker)
        self.released = threading.Event()
        self.stalls: set[str] = set()
        self.bad_signatures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, like any real receiver

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = receiver.handle(
                    self.path, dict(self.headers.items()), body, peer=self.client_address[1]
                )
                if status == 0:  # stall: the worker is killed while it waits
                    receiver.released.wait(60)  # until the test has killed it
                    status = 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # a batch opens many connections at once

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def handle(self, path: str, headers: dict[str, str], body: bytes, *, peer: int = 0) -> int:
        key = headers.get("Idempotency-Key", "")
        with self.lock:
            self.requests.append(
                {"path": path, "key": key, "headers": headers, "body": body, "peer": peer}
            )
            if "X-Hotline-Signature" in headers and not verify(
                WEBHOOK_SECRET,
                headers.get("X-Hotline-Timestamp", ""),
                body,
                headers["X-Hotline-Signature"],
            ):
                self.bad_signatures += 1
                return 401
            if path == "/down":
                return 503
            if path.startswith("/flaky/"):
                seen = self.failures.get(key, 0)
                if seen < int(path.rsplit("/", 1)[1]):
                    self.failures[key] = seen + 1
                    return 500
            if key not in self.applied:
                self.applied[key] = json.loads(body)
                self.applications[key] = self.applications.get(key, 0) + 1
            self.received.set()
            if path == "/stall" and key not in self.stalls:
                self.stalls.add(key)
                self.stalled.set()
                return 0
            return 200

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.applied.clear()
            self.applications.clear()
            self.failures.clear()
            self.received.clear()
            self.stalled.clear()
            self.released.clear()
            self.stalls.clear()


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.port = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            {"to": envelope.rcpt_tos, "data": envelope.content.decode("utf8", "replace")}
        )
        return "250 OK"


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        box.port = probe.getsockname()[1]
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()


@pytest.fixture(scope="module")
def channels(db: Settings, receiver: Receiver, mailbox: Mailbox) -> Iterator[Settings]:
    """The module's settings with the SMS gateway, SMTP and quick retries pointed locally."""
    env = {
        "HOTLINE_SMS_PROVIDER": "http",
        "HOTLINE_SMS_GATEWAY_URL": receiver.url + "/ok",
        "HOTLINE_SMTP_URL": f"smtp://127.0.0.1:{mailbox.port}",
        "HOTLINE_OUTBOX_BASE_DELAY_SECONDS": "0.01",
        "HOTLINE_WEBHOOK_ALLOW_PRIVATE": "true",  # the test receivers listen on loopback
        "HOTLINE_OUTBOX_MAX_ATTEMPTS": "4",
        # no quiet hours unless a test asks (the suite runs at any hour)
        "HOTLINE_SMS_QUIET_START": "00:00",
        "HOTLINE_SMS_QUIET_END": "00:00",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    from hotline.platform.settings import reset_settings

    reset_settings()
    reset_delivery_settings()
    yield db
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    reset_settings()
    reset_delivery_settings()


@dataclass
class City:
    tenant: Tenant
    center: Department
    depts: dict[str, Department] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)

    @property
    def id(self) -> int:
        return int(self.tenant.id)

    def scope(self) -> Scope:
        return Scope.city(self.tenant.id, self.tenant.province_id)


_numbers = count(1)


async def make_city(province: Province, code: str, slug: str, prefix: str) -> City:
    with use_scope(Scope.platform()):
        tenant = await Tenant.create(
            province=province, code=code, slug=slug, name=slug.title(), number_prefix=prefix
        )
    city = City(tenant=tenant, center=None)  # type: ignore[arg-type]
    with use_scope(city.scope()):
        center = await Department.create(kind=DepartmentKind.CENTER, name="中心", path="/", depth=0)
        center.path = f"/{center.id}/"
        await center.save(update_fields=["path"])
        city.center = center
        for code_, name, kind in (
            ("urban", "城市管理局", DepartmentKind.BUREAU),
            ("water", "水务集团", DepartmentKind.UTILITY),
            ("lixia", "历下区", DepartmentKind.DISTRICT),
        ):
            d = await Department.create(
                kind=kind, name=name, code=code_, parent_id=center.id, path="", depth=1
            )
            d.path = f"{center.path}{d.id}/"
            await d.save(update_fields=["path"])
            city.depts[code_] = d
        people = (
            ("handler", Role.DEPT_HANDLER, "urban"),
            ("manager", Role.DEPT_MANAGER, "urban"),
            ("leader", Role.CITY_LEADER, None),
            ("dispatcher", Role.DISPATCHER, None),
            ("admin", Role.TENANT_ADMIN, None),
        )
        for name, role, dept in people:
            with use_scope(Scope.platform()):
                user = await User.create(
                    username=f"{slug}-{name}", display_name=name, email=f"{name}@{slug}.example"
                )
            await Membership.create(
                user_id=user.id, role=role, department_id=city.depts[dept].id if dept else None
            )
            city.users[name] = user
    return city


async def make_ticket(
    city: City,
    *,
    content: str = "小区门口占道经营，噪音扰民",
    department: str = "urban",
    status: Status = Status.DISPATCHED,
    assignment_status: AssignmentStatus = AssignmentStatus.PENDING_SIGN,
    sign_deadline: datetime | None = None,
    reply_deadline: datetime | None = None,
    due_soon_at: datetime | None = None,
    phone: str | None = "13800138000",
) -> tuple[Ticket, Assignment]:
    """A ticket and its lead assignment, written through the models (in the city's scope)."""
    n = next(_numbers)
    now = datetime.now(UTC)
    ticket = await Ticket.create(
        number=f"{city.tenant.number_prefix}{n:012d}",
        query_code_hash="x",
        channel=Channel.PHONE,
        kind=Kind.COMPLAINT,
        status=status,
        content=content,
        received_at=now,
        citizen_phone_enc=encrypt(phone) if phone else None,
        sign_deadline=sign_deadline,
        reply_deadline=reply_deadline,
        due_soon_at=due_soon_at,
    )
    assignment = await Assignment.create(
        ticket_id=ticket.id,
        department_id=city.depts[department].id,
        is_lead=True,
        status=assignment_status,
        sign_deadline=sign_deadline,
        reply_deadline=reply_deadline or now,
        due_soon_at=due_soon_at,
    )
    return ticket, assignment


@dataclass
class World:
    alpha: City
    beta: City


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(db: Settings) -> AsyncIterator[World]:
    with use_scope(Scope.platform()):
        shandong = await Province.create(code="370000", slug="shandong", name="山东省")
        jiangsu = await Province.create(code="320000", slug="jiangsu", name="江苏省")
    alpha = await make_city(shandong, "370100", "alpha", "AL")
    beta = await make_city(jiangsu, "320100", "beta", "BE")
    yield World(alpha=alpha, beta=beta)
    await close_redis()
    await close_http_clients()


async def worker(*, max_jobs: int = 100, **kwargs: Any) -> Worker:
    """A real arq worker on the module's queue, burst mode with a job limit. It shares the
    jobs port's Redis pool (closed with the module), so there is nothing to close."""
    return Worker(
        functions=WorkerSettings.functions,
        queue_name=queue_name(),
        redis_pool=await pool(),
        burst=True,
        max_burst_jobs=max_jobs,
        handle_signals=False,
        poll_delay=0.05,
        keep_result=60,
        **kwargs,
    )


@pytest.fixture(scope="module")
def new_ticket() -> Any:
    """``await new_ticket(city, …)``: a ticket with its lead assignment (see make_ticket)."""
    return make_ticket


async def run_burst(*, max_jobs: int = 100) -> Worker:
    """Run a burst worker until the queue is empty (or ``max_jobs`` ran)."""
    w = await worker(max_jobs=max_jobs)
    await w.async_run()
    return w


@pytest.fixture(scope="module")
def new_worker() -> Any:
    """``new_worker(max_jobs=…)``: a real arq worker in burst mode on the module's queue."""
    return worker


@pytest.fixture(scope="module")
def burst() -> Any:
    """``await burst(max_jobs=…)``: run a real arq worker in burst mode."""
    return run_burst


@pytest.fixture(scope="module")
def webhook_secret() -> str:
    return WEBHOOK_SECRET
