"""Webhooks never reach internal addresses (a city admin sets the URL; our worker calls it),
also when the name's DNS answer changes between the check and the connection."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hotline.platform.senders.config import reset_delivery_settings
from hotline.platform.senders.errors import SendFailed
from hotline.platform.senders.http import guarded_client
from hotline.platform.senders.webhook import check_destination, send_webhook


@pytest.fixture(autouse=True)
def _default_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("HOTLINE_WEBHOOK_ALLOW_PRIVATE", raising=False)
    reset_delivery_settings()
    yield
    monkeypatch.undo()
    reset_delivery_settings()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:6379/",  # our own Redis
        "http://localhost/hook",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "https://10.0.0.5/hook",
        "https://192.168.1.10/hook",
        "http://[::1]:9000/",  # the S3 store over IPv6 loopback
    ],
)
async def test_internal_destinations_are_refused_for_good(url: str) -> None:
    with pytest.raises(SendFailed) as refused:
        await check_destination(url)
    assert refused.value.permanent


async def test_a_public_address_passes() -> None:
    await check_destination("https://93.184.216.34/hook")  # an IP literal: no DNS needed


async def test_on_premise_may_allow_private_addresses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_WEBHOOK_ALLOW_PRIVATE", "true")
    reset_delivery_settings()
    await check_destination("http://10.0.0.5/hook")


class _Hits:
    """A real HTTP receiver on one loopback address, counting what reaches it."""

    def __init__(self, host: str, port: int = 0) -> None:
        self.requests: list[dict[str, str]] = []
        hits = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                hits.requests.append(dict(self.headers.items()))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Rebinding:
    """A resolver whose answer changes after the first question (DNS rebinding)."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.questions: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.questions.append(host)
        return self.answers[min(len(self.questions), len(self.answers)) - 1]


@pytest.fixture
def two_receivers() -> Iterator[tuple[_Hits, _Hits]]:
    """Receivers on 127.0.0.1 and 127.0.0.2, the same port (all of 127/8 is loopback)."""
    first = _Hits("127.0.0.1")
    second = _Hits("127.0.0.2", first.port)
    yield first, second
    first.stop()
    second.stop()


async def test_the_connection_goes_to_the_address_that_was_checked(
    monkeypatch: pytest.MonkeyPatch, two_receivers: tuple[_Hits, _Hits]
) -> None:
    """Resolved once, checked, connected to: a changed second answer is never asked for
    or used, and the request still names its host (Host header; SNI for https)."""
    monkeypatch.setenv("HOTLINE_WEBHOOK_ALLOW_PRIVATE", "true")  # both are loopback
    reset_delivery_settings()
    checked, rebound = two_receivers
    resolver = _Rebinding(["127.0.0.1"], ["127.0.0.2"])
    url = f"http://hooks.rebind.test:{checked.port}/hook"
    async with guarded_client(resolver=resolver) as client:
        for n in range(3):  # three messages: one connection, kept alive
            await send_webhook(url=url, secret="s", event={"n": n}, send_key=f"k{n}", client=client)
    assert len(checked.requests) == 3
    assert rebound.requests == []
    assert resolver.questions == ["hooks.rebind.test"]
    assert {r["Host"] for r in checked.requests} == {f"hooks.rebind.test:{checked.port}"}


@pytest.mark.parametrize(
    "answer",
    [["127.0.0.1"], ["93.184.216.34", "127.0.0.1"], ["::ffff:127.0.0.1"], ["10.1.2.3"]],
)
async def test_a_name_resolving_to_an_internal_address_is_never_connected(
    answer: list[str], two_receivers: tuple[_Hits, _Hits]
) -> None:
    checked, _ = two_receivers
    resolver = _Rebinding(answer, ["93.184.216.34"])
    async with guarded_client(resolver=resolver) as client:
        with pytest.raises(SendFailed) as refused:
            await send_webhook(
                url=f"http://hooks.rebind.test:{checked.port}/hook",
                secret="s",
                event={},
                send_key="k",
                client=client,
            )
    assert refused.value.permanent
    assert checked.requests == []
    assert resolver.questions == ["hooks.rebind.test"]


async def test_an_unresolvable_host_is_a_temporary_failure() -> None:
    async def nothing(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    async with guarded_client(resolver=nothing) as client:
        with pytest.raises(SendFailed) as failed:
            await send_webhook(
                url="http://nowhere.invalid/hook", secret="s", event={}, send_key="k", client=client
            )
    assert not failed.value.permanent


def _certificate(host: str) -> tuple[bytes, bytes]:
    """A self-signed certificate for ``host`` and its key, PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return (
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


async def test_https_to_a_pinned_address_keeps_sni_host_and_certificate_check(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The socket goes to the checked address; TLS still names the host (SNI), verifies
    the certificate against it, and the Host header is the URL's."""
    monkeypatch.setenv("HOTLINE_WEBHOOK_ALLOW_PRIVATE", "true")  # the receiver is loopback
    reset_delivery_settings()
    host = "hooks.pinned.test"
    cert, key = _certificate(host)
    (tmp_path / "cert.pem").write_bytes(cert)
    (tmp_path / "key.pem").write_bytes(key)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    names: list[str | None] = []
    server_tls.sni_callback = lambda sock, name, ctx: names.append(name)
    receiver = _Hits("127.0.0.1")
    receiver.server.socket = server_tls.wrap_socket(receiver.server.socket, server_side=True)
    client_tls = ssl.create_default_context(cadata=cert.decode())
    resolver = _Rebinding(["127.0.0.1"], ["127.0.0.2"])
    try:
        async with guarded_client(resolver=resolver, tls=client_tls) as client:
            for n in range(2):
                await send_webhook(
                    url=f"https://{host}:{receiver.port}/hook",
                    secret="s",
                    event={"n": n},
                    send_key=f"tls{n}",
                    client=client,
                )
            # the same address under another name: the certificate does not match
            with pytest.raises(SendFailed):
                await send_webhook(
                    url=f"https://other.pinned.test:{receiver.port}/hook",
                    secret="s",
                    event={},
                    send_key="tls-other",
                    client=client,
                )
    finally:
        receiver.stop()
    assert names[:1] == [host]  # one TLS connection for both messages, named by SNI
    assert [r["Host"] for r in receiver.requests] == [f"{host}:{receiver.port}"] * 2
    assert resolver.questions == [host, "other.pinned.test"]
