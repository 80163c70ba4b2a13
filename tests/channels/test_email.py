"""E-mail intake against a real IMAP server (pymap from PyPI, one per city, STARTTLS with
a certificate made here): tickets, replies appended, bounces and auto-replies skipped,
attachments through the evidence checks, a crash between taking a mail and committing
its UID taken once; a reply is appended only on the city's mail server's verdict (its
own, topmost Authentication-Results), never on the From header alone."""

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
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
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
from hotline.tenants.channels.models import DuplicateProposal, Mailbox, MailSecurity
from hotline.tenants.evidence.models import Evidence
from hotline.tenants.kernel.access import Actor
from hotline.tenants.kernel.errors import Invalid
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
            authserv_id=_mta(city),
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


def _mta(city: City) -> str:
    """The authserv-id of the city's mail server."""
    return f"mx.{city.slug}.example"


def delivered(message: EmailMessage, *above: tuple[str, str]) -> EmailMessage:
    """The mail as the city's mail server hands it on: its own headers put on top of
    everything the sender wrote (an MTA prepends, like Received)."""
    top = "".join(f"{name}: {value}\r\n" for name, value in above).encode()
    parsed = BytesParser(policy=policy.default).parsebytes(top + message.as_bytes())
    assert isinstance(parsed, EmailMessage)
    return parsed


def verdict(city: City, results: str) -> tuple[str, str]:
    return ("Authentication-Results", f"{_mta(city)}; {results}")


RECEIVED = ("Received", "from mail.example.cn by mx.city.example with ESMTPS; 30 Nov 2026")


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
    passed = verdict(alpha, "dkim=pass header.d=example.cn; dmarc=pass header.from=example.cn")
    await boxes.send(
        alpha,
        delivered(
            mail(f"Re: 您的工单 {ticket.number}", "现在更严重了", sender="Li <LI@example.cn>"),
            passed,
            RECEIVED,
        ),
    )
    # a stranger naming the number gets a ticket of their own, not an entry in this one,
    # proposed to the center as a duplicate of the ticket it names
    await boxes.send(
        alpha,
        delivered(
            mail(f"Re: {ticket.number}", "我也要说两句", sender="x@example.cn"), passed, RECEIVED
        ),
    )
    result = await boxes.poll(alpha)
    assert (result.appended, result.created) == (1, 1)
    with use_scope(alpha.scope()):
        added = await TimelineEvent.filter(ticket_id=ticket.id, action="supplement")
    assert [e.reason for e in added] == ["现在更严重了"]
    assert await _proposed_for(alpha, ticket) == ["names_ticket"]


async def _proposed_for(city: City, ticket: Ticket) -> list[str]:
    """The reasons of the proposals naming ``ticket`` as the one a new ticket repeats."""
    with use_scope(city.scope()):
        rows = await DuplicateProposal.filter(candidate_id=ticket.id).order_by("id")
    return [r.reason for r in rows]


async def _reported(boxes: Boxes, city: City, sender: str) -> Ticket:
    await boxes.send(city, mail("纬二路3号垃圾未清运", "垃圾堆了一周", sender=sender))
    await boxes.poll(city)
    return (await _tickets(city))[-1]


async def _supplements(city: City, ticket: Ticket) -> list[str]:
    with use_scope(city.scope()):
        added = await TimelineEvent.filter(ticket_id=ticket.id, action="supplement")
    return [e.reason for e in added]


async def test_a_forged_from_opens_a_ticket_of_its_own(boxes: Boxes) -> None:
    """The reporter's address and the ticket's number in the From and Subject of a mail
    the city's server did not verify (DMARC failed; or no verdict at all): a new ticket,
    proposed as a duplicate of the one it names, and nothing added to that one."""
    alpha = boxes.world.alpha
    ticket = await _reported(boxes, alpha, "zhao@example.cn")
    forged = [
        (verdict(alpha, "dkim=none; spf=fail smtp.mailfrom=example.cn; dmarc=fail"), RECEIVED),
        (RECEIVED,),  # the server wrote no verdict at all
    ]
    for above in forged:
        await boxes.send(
            alpha,
            delivered(mail(f"Re: {ticket.number}", "请撤销工单", sender="zhao@example.cn"), *above),
        )
    result = await boxes.poll(alpha)
    assert (result.appended, result.created) == (0, 2)
    assert await _supplements(alpha, ticket) == []
    assert await _proposed_for(alpha, ticket) == ["names_ticket", "names_ticket"]


async def test_a_verified_reply_is_appended_on_dmarc_or_aligned_dkim(boxes: Boxes) -> None:
    alpha = boxes.world.alpha
    ticket = await _reported(boxes, alpha, "qian@mail.example.cn")
    for results, text in (
        ("spf=pass smtp.mailfrom=example.cn; dmarc=pass header.from=mail.example.cn", "一"),
        ("dkim=pass header.d=example.cn header.s=s1; dmarc=none", "二"),  # relaxed alignment
    ):
        await boxes.send(
            alpha,
            delivered(
                mail(f"Re: {ticket.number}", text, sender="qian@mail.example.cn"),
                verdict(alpha, results),
                RECEIVED,
            ),
        )
    result = await boxes.poll(alpha)
    assert (result.appended, result.created) == (2, 0)
    assert await _supplements(alpha, ticket) == ["一", "二"]


async def test_authentication_results_the_sender_wrote_are_ignored(boxes: Boxes) -> None:
    """A verdict of another server (another authserv-id), one below the city's server's
    own (written by the sender, under the server's Received), and a DKIM pass of a
    domain that is not the From's: none lets the mail in; each opens a ticket."""
    alpha = boxes.world.alpha
    ticket = await _reported(boxes, alpha, "sun@example.cn")
    passed = "dmarc=pass header.from=example.cn"
    forged = [
        (("Authentication-Results", f"mx.attacker.example; {passed}"), RECEIVED),
        (verdict(alpha, "dmarc=fail header.from=example.cn"), RECEIVED, verdict(alpha, passed)),
        (verdict(alpha, "dkim=pass header.d=attacker.example; dmarc=fail"), RECEIVED),
    ]
    for above in forged:
        await boxes.send(
            alpha,
            delivered(mail(f"Re: {ticket.number}", "改为已解决", sender="sun@example.cn"), *above),
        )
    result = await boxes.poll(alpha)
    assert (result.appended, result.created) == (0, 3)
    assert await _supplements(alpha, ticket) == []
    assert await _proposed_for(alpha, ticket) == ["names_ticket"] * 3


async def test_a_mailbox_names_its_servers_authserv_id(boxes: Boxes) -> None:
    beta = boxes.world.beta
    server = boxes.servers["beta"]
    with pytest.raises(Invalid) as refused:
        await set_mailbox(
            actor=_admin(beta),
            host="127.0.0.1",
            port=server.port,
            username=server.user,
            password=PASSWORD,
            security=MailSecurity.STARTTLS,
            folder="Refused",
            authserv_id="mx.beta.example; dmarc=pass",
        )
    assert refused.value.field == "authservId"
    with use_scope(beta.scope()):
        assert not await Mailbox.exists(folder="Refused")
        assert (await Mailbox.get(id=boxes.ids["beta"])).authserv_id == "mx.beta.example"


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
