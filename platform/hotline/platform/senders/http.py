"""Outgoing HTTP for the channels: one keep-alive client per process, and the SSRF guard
enforced where the socket is opened.

Two clients, each created on first use in the running event loop and kept for the
process (connections stay open between messages; ``close_http_clients`` at shutdown):

- ``trusted``: the operator's own endpoints (the SMS gateway), any address.
- ``guarded``: webhooks, whose URLs a city admin sets. Its connections go through
  :class:`PinnedBackend`: the host is resolved once, every address it resolves to is
  checked against the rules (:func:`resolve_checked`), and the socket connects to
  exactly that checked address. A DNS answer that changes between the check and the
  connect (rebinding) therefore cannot reach an internal address. The URL keeps its
  host name, so TLS still sends it as SNI, verifies the certificate against it, and
  the ``Host`` header is unchanged. Environment proxies are not used for webhooks
  (the proxy would resolve the name itself, past the check).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from functools import lru_cache
from typing import Any

import certifi
import httpcore
import httpx

from hotline.platform.senders.config import get_delivery_settings
from hotline.platform.senders.errors import SendFailed

# (host, port) -> the addresses it resolves to, in the resolver's order.
Resolver = Callable[[str, int], Awaitable[list[str]]]


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def is_public(address: str) -> bool:
    """A globally routable unicast address (not loopback, private, link-local, …)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback, whatever 3.11 says of it
    return ip.is_global and not ip.is_multicast


async def resolve_checked(host: str, port: int, *, resolver: Resolver | None = None) -> list[str]:
    """Resolve ``host`` once; its addresses if every one passes the rules.

    Raises ``SendFailed(permanent=True)`` for a host with any internal address (unless
    ``HOTLINE_WEBHOOK_ALLOW_PRIVATE``), and a temporary ``SendFailed`` when it does not
    resolve.
    """
    try:
        addresses = await (resolver or system_resolver)(host, port)
    except OSError as exc:
        raise SendFailed(f"cannot resolve {host}: {exc}") from exc
    if not addresses:
        raise SendFailed(f"cannot resolve {host}: no address")
    if not get_delivery_settings().webhook_allow_private and not all(map(is_public, addresses)):
        raise SendFailed(f"{host} resolves to a non-public address", permanent=True)
    return addresses


class _CoalescingStream(httpcore.AsyncNetworkStream):
    """Holds writes until the next read: a request's head and body leave in one send.

    httpcore writes the request line + headers and the body separately; on a busy
    machine each loopback ``send`` costs as much as the rest of the message's CPU.
    Every request is followed by reading its response, so nothing waits for long.
    """

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self.inner = inner
        self.pending = bytearray()

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        self.pending += buffer

    async def _flush(self, seconds: float | None) -> None:
        if self.pending:
            data = bytes(self.pending)
            self.pending.clear()
            await self.inner.write(data, seconds)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        await self._flush(timeout)
        return await self.inner.read(max_bytes, timeout)

    async def aclose(self) -> None:
        self.pending.clear()
        await self.inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 — httpcore's interface
    ) -> httpcore.AsyncNetworkStream:
        await self._flush(timeout)
        tls = await self.inner.start_tls(ssl_context, server_hostname, timeout)
        return _CoalescingStream(tls)

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Opens every connection to an address that :func:`resolve_checked` passed."""

    def __init__(self, resolver: Resolver | None = None) -> None:
        self.resolver = resolver
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 — httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        async with asyncio.timeout(timeout):
            addresses = await resolve_checked(host, port, resolver=self.resolver)
        failure: Exception | None = None
        for address in addresses:  # like the system's connect: the next address on failure
            try:
                stream = await self.inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
                return _CoalescingStream(stream)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 — httpcore's interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks never use Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


@lru_cache(maxsize=1)
def tls_context() -> ssl.SSLContext:
    # Building a TLS context (loading the CA bundle) costs tens of milliseconds of CPU:
    # once per process, not once per message.
    return ssl.create_default_context(cafile=certifi.where())


# Connections per client and process. Requests beyond this wait on our own semaphore
# (``post_json``), not in httpcore's pool, whose bookkeeping costs grow with its queue
# times its connections (it dominated the CPU profile of a busy worker).
MAX_CONNECTIONS = 32
LIMITS = httpx.Limits(
    max_connections=MAX_CONNECTIONS,
    max_keepalive_connections=MAX_CONNECTIONS,
    keepalive_expiry=30,
)


class _PinnedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, resolver: Resolver | None, tls: ssl.SSLContext) -> None:
        super().__init__(verify=tls, trust_env=False, limits=LIMITS)
        # httpx builds the connection pool itself; ours only adds the network backend.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=tls,
            max_connections=LIMITS.max_connections,
            max_keepalive_connections=LIMITS.max_keepalive_connections,
            keepalive_expiry=LIMITS.keepalive_expiry,
            network_backend=PinnedBackend(resolver),
        )


def guarded_client(
    *, resolver: Resolver | None = None, tls: ssl.SSLContext | None = None
) -> httpx.AsyncClient:
    """A new client whose connections pass the SSRF rules (``resolver``, ``tls``: tests)."""
    return httpx.AsyncClient(
        transport=_PinnedTransport(resolver, tls or tls_context()), trust_env=False
    )


_clients: dict[str, tuple[asyncio.AbstractEventLoop, httpx.AsyncClient, asyncio.Semaphore]] = {}


def _held(kind: str) -> tuple[httpx.AsyncClient, asyncio.Semaphore]:
    loop = asyncio.get_running_loop()
    held = _clients.get(kind)
    if held is not None and held[0] is loop and not held[1].is_closed:
        return held[1], held[2]
    if kind == "guarded":
        client = guarded_client()
    elif kind == "trusted":
        client = httpx.AsyncClient(verify=tls_context(), limits=LIMITS)
    else:
        raise ValueError(f"unknown client {kind!r}")
    gate = asyncio.Semaphore(MAX_CONNECTIONS)
    _clients[kind] = (loop, client, gate)
    return client, gate


def http_client(kind: str) -> httpx.AsyncClient:
    """The process's ``"trusted"`` or ``"guarded"`` client (a new one in a new event loop)."""
    return _held(kind)[0]


async def close_http_clients() -> None:
    """Close this event loop's clients (a worker's shutdown); others are just forgotten."""
    loop = asyncio.get_running_loop()
    while _clients:
        _, (owner, client, _) = _clients.popitem()
        if owner is loop:
            await client.aclose()


async def post_json(
    url: str,
    body: bytes,
    *,
    headers: dict[str, str],
    seconds: float,
    kind: str = "trusted",
    client: httpx.AsyncClient | None = None,
) -> None:
    """POST JSON on the process's ``kind`` client (or ``client``) and classify the answer
    for the outbox (the SMS gateway and webhooks): 2xx accepted; 4xx other than
    408/409/429 permanent; anything else retried."""
    if client is None:
        client, gate = _held(kind)
    else:
        gate = asyncio.Semaphore(MAX_CONNECTIONS)
    try:
        async with gate:
            response = await client.post(
                url,
                content=body,
                headers={**headers, "Content-Type": "application/json"},
                timeout=seconds,
            )
    except httpx.HTTPError as exc:
        raise SendFailed(f"{type(exc).__name__}: {exc}") from exc
    if response.is_success:
        return
    permanent = 400 <= response.status_code < 500 and response.status_code not in (408, 409, 429)
    raise SendFailed(f"HTTP {response.status_code}: {response.text[:200]}", permanent=permanent)
