"""E-mail intake against a real IMAP server (pymap from PyPI, one per city, STARTTLS with
a certificate made here): tickets, replies appended, bounces and auto-replies skipped,
attachments through the evidence checks, a crash between taking a mail and committing
its UID taken once."""

from __future__ import annotations

import asyncio
import datetime
import imaplib
import io
import ipaddress
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest
import pytest_asyncio
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from PIL import Image
from urllib3.exceptions import MaxRetryError

from hotline.platform.crypto import decrypt
from hotline.platform.faults import is_transient
from hotline.platform.settings import reset_settings
from hotline.platform.tenancy import use_scope
from hotline.tenants.channels.imap import AfterTaken, PollResult, poll_mailbox, set_mailbox
from hotline.tenants.channels.models import Mailbox, MailSecurity
from hotline.tenants.evidence.models import Evidence
from hotline.tenants.kernel.access import Actor
from hotline.tenants.kernel.roles import Role
from hotline.tenants.tickets.models import Channel, Ticket, TimelineEvent
from hotline.workers.mail import poll_mail
from tests.tickets_api.conftest import City, World

PASSWORD = "imap-secret-1"


def _certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@dataclass
class Server:
    port: int
    user: str
    context: ssl.SSLContext

    def append(self, message: EmailMessage) -> None:
        client = imaplib.IMAP4("127.0.0.1", self.port)
        try:
            client.starttls(ssl_context=self.context)
            client.login(self.user, PASSWORD)
            status, _ = client.append("INBOX", None, None, message.as_bytes())
            assert status == "OK"
        finally:
            client.logout()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def imap_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Server]]:
    folder = tmp_path_factory.mktemp("imap")
    cert, key = _certificate(folder)
    context = ssl.create_default_context(cafile=str(cert))
    pymap = str(Path(sys.executable).with_name("pymap"))
    running, servers = [], {}
    for slug in ("alpha", "beta"):
        port = _free_port()
        running.append(
            subprocess.Popen(
                [
                    pymap,
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--cert",
                    str(cert),
                    "--key",
                    str(key),
                    "dict",
                    "--demo-user",
                    f"{slug}-hotline",
                    "--demo-password",
                    PASSWORD,
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        servers[slug] = Server(port=port, user=f"{slug}-hotline", context=context)
    yield servers
    for process in running:
        process.terminate()
        process.wait(timeout=10)


def _admin(city: City) -> Actor:
    return Actor(
        user_id=city.users["admin"],
        tenant_id=city.tenant.id,
        province_id=city.tenant.province_id,
        roles=frozenset({Role.TENANT_ADMIN}),
    )


@dataclass
class Boxes:
    world: World
    servers: dict[str, Server]
    ids: dict[str, int]

    async def poll(self, city: City, after_taken: AfterTaken | None = None) -> PollResult:
        with use_scope(city.scope()):
            return await poll_mailbox(
                mailbox_id=self.ids[city.slug],
                ssl_context=self.servers[city.slug].context,
                after_taken=after_taken,
            )

    async def send(self, city: City, message: EmailMessage) -> None:
        await asyncio.to_thread(self.servers[city.slug].append, message)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def boxes(world: World, imap_servers: dict[str, Server]) -> AsyncIterator[Boxes]:
    ids = {}
    for city in (world.alpha, world.beta):
        server = imap_servers[city.slug]
        box = await set_mailbox(
            actor=_admin(city),
            host="127.0.0.1",
            port=server.port,
            username=server.user,
            password=PASSWORD,
            security=MailSecurity.STARTTLS,
        )
        ids[city.slug] = box.id
    yield Boxes(world=world, servers=imap_servers, ids=ids)


_serial = iter(range(1, 10_000))


def mail(
    subject: str,
    text: str,
    *,
    sender: str = "王先生 <wang@example.cn>",
    headers: dict[str, str] | None = None,
    attachments: Sequence[tuple[str, str, bytes]] = (),
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "12345@hotline.example"
    message["Subject"] = subject
    message["Message-ID"] = f"<m{next(_serial)}.{time.time_ns()}@example.cn>"
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    for file_name, content_type, data in attachments:
        main, sub = content_type.split("/")
        message.add_attachment(data, maintype=main, subtype=sub, filename=file_name)
    return message


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


async def _tickets(city: City) -> list[Ticket]:
    with use_scope(city.scope()):
        return list(await Ticket.filter(channel=Channel.EMAIL).order_by("id"))


async def test_credentials_are_encrypted_at_rest(boxes: Boxes) -> None:
    with use_scope(boxes.world.alpha.scope()):
        box = await Mailbox.get(id=boxes.ids["alpha"])
    assert PASSWORD not in box.password_enc
    assert decrypt(box.password_enc) == PASSWORD


async def test_a_mail_becomes_a_ticket_with_its_checked_attachments(boxes: Boxes) -> None:
    alpha = boxes.world.alpha
    await boxes.send(
        alpha,
        mail(
            "泉城路1号路灯不亮",
            "路灯已经三天不亮了，晚上很危险。\n\n> 引用的旧内容",
            attachments=[
                ("photo.png", "image/png", _png()),
                ("virus.exe", "application/octet-stream", b"MZ not a photo"),
            ],
        ),
    )
    result = await boxes.poll(alpha)
    assert (result.fetched, result.created) == (1, 1)
    [ticket] = await _tickets(alpha)
    assert ticket.content == "泉城路1号路灯不亮\n路灯已经三天不亮了，晚上很危险。"
    with use_scope(alpha.scope()):
        evidence = await Evidence.filter(ticket_id=ticket.id)
    assert [(e.file_name, e.content_type) for e in evidence] == [("photo.png", "image/png")]
    again = await boxes.poll(alpha)
    assert again.fetched == 0


async def test_bounces_and_auto_replies_are_skipped(boxes: Boxes) -> None:
    alpha = boxes.world.alpha
    before = len(await _tickets(alpha))
    await boxes.send(
        alpha,
        mail(
            "Undelivered Mail Returned to Sender",
            "delivery failed",
            sender="MAILER-DAEMON@mx.example.cn",
        ),
    )
    await boxes.send(
        alpha,
        mail(
            "自动回复：我正在休假",
            "我正在休假，回来后处理。",
            headers={"Auto-Submitted": "auto-replied"},
        ),
    )
    result = await boxes.poll(alpha)
    assert (result.fetched, result.ignored) == (2, 2)
    assert len(await _tickets(alpha)) == before


async def test_a_reply_naming_the_number_is_appended(boxes: Boxes) -> None:
    alpha = boxes.world.alpha
    await boxes.send(alpha, mail("经七路20号污水外溢", "小区门口污水外溢", sender="li@example.cn"))
    await boxes.poll(alpha)
    ticket = (await _tickets(alpha))[-1]
    await boxes.send(
        alpha,
        mail(f"Re: 您的工单 {ticket.number}", "现在更严重了", sender="Li <LI@example.cn>"),
    )
    # a stranger naming the number gets a ticket of their own, not an entry in this one
    await boxes.send(alpha, mail(f"Re: {ticket.number}", "我也要说两句", sender="x@example.cn"))
    result = await boxes.poll(alpha)
    assert (result.appended, result.created) == (1, 1)
    with use_scope(alpha.scope()):
        added = await TimelineEvent.filter(ticket_id=ticket.id, action="supplement")
    assert [e.reason for e in added] == ["现在更严重了"]


class Crash(Exception):
    pass


async def test_a_crash_between_taking_and_committing_takes_the_mail_once(boxes: Boxes) -> None:
    alpha = boxes.world.alpha
    before = len(await _tickets(alpha))
    await boxes.send(alpha, mail("经十路100号路面塌陷", "路面塌陷一个大坑"))

    async def die(uid: int) -> None:
        raise Crash(uid)

    with pytest.raises(Crash):
        await boxes.poll(alpha, after_taken=die)
    assert len(await _tickets(alpha)) == before + 1  # taken, UID not committed
    result = await boxes.poll(alpha)
    assert (result.fetched, result.created) == (1, 0)
    assert len(await _tickets(alpha)) == before + 1
    assert (await boxes.poll(alpha)).fetched == 0


async def test_a_stopped_object_store_leaves_the_mail_for_the_next_poll(
    boxes: Boxes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An attachment is put before the ticket's transaction: with the store down the
    poll fails, no ticket is made without its file and the UID stays uncommitted; the
    next poll, the store back, takes the mail with its attachment once."""
    alpha = boxes.world.alpha
    before = len(await _tickets(alpha))
    await boxes.send(
        alpha,
        mail("长江路8号窨井冒水", "污水冒到路上", attachments=[("a.png", "image/png", _png())]),
    )
    with socket.socket() as probe:  # a port where no store listens: the store stopped
        probe.bind(("127.0.0.1", 0))
        stopped = f"http://127.0.0.1:{probe.getsockname()[1]}"
    with monkeypatch.context() as store:
        store.setenv("HOTLINE_S3_ENDPOINT", stopped)
        reset_settings()
        try:
            with pytest.raises(MaxRetryError) as failed:
                await boxes.poll(alpha)
        finally:
            store.undo()
            reset_settings()
    assert is_transient(failed.value)
    assert len(await _tickets(alpha)) == before
    result = await boxes.poll(alpha)
    assert (result.fetched, result.created) == (1, 1)
    ticket = (await _tickets(alpha))[-1]
    with use_scope(alpha.scope()):
        evidence = await Evidence.filter(ticket_id=ticket.id)
    assert [e.file_name for e in evidence] == ["a.png"]


async def test_each_city_reads_its_own_mailbox(boxes: Boxes) -> None:
    beta = boxes.world.beta
    await boxes.send(beta, mail("公园路5号树木倒伏", "大树倒在路上"))
    result = await boxes.poll(beta)
    assert result.created == 1
    assert [t.title for t in await _tickets(beta)] == ["公园路5号树木倒伏"]


async def test_a_wrong_password_stores_nothing_and_says_why(boxes: Boxes) -> None:
    beta = boxes.world.beta
    server = boxes.servers["beta"]
    box = await set_mailbox(
        actor=_admin(beta),
        host="127.0.0.1",
        port=server.port,
        username=server.user,
        password="wrong",
        security=MailSecurity.STARTTLS,
        folder="Other",
    )
    before = len(await _tickets(beta))
    with use_scope(beta.scope()), pytest.raises(imaplib.IMAP4.error):
        await poll_mailbox(mailbox_id=box.id, ssl_context=server.context)
    with use_scope(beta.scope()):
        box = await Mailbox.get(id=box.id)
    assert box.last_error
    assert len(await _tickets(beta)) == before


async def test_the_worker_job_logs_a_failing_mailbox_and_goes_on(boxes: Boxes) -> None:
    """The job uses the system's trust store, which does not know the test server's
    certificate: the poll fails on TLS (never falls back to clear), the error is kept."""
    alpha = boxes.world.alpha
    assert await poll_mail({}, tenant_id=alpha.tenant.id) == 0
    with use_scope(alpha.scope()):
        box = await Mailbox.get(id=boxes.ids["alpha"])
    assert "SSL" in box.last_error or "certificate" in box.last_error
