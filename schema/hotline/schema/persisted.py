"""Persisted queries (docs/frontend.md): a frontend sends the SHA-256 of a document
instead of its text, using Apollo's ``persistedQuery`` extension.

Documents come from two places: the registered file (``HOTLINE_PERSISTED_QUERIES``, a
JSON object ``{"<sha256>": "<document>"}`` such as a frontend build's manifest, or a list
of documents) and, for callers allowed ad-hoc queries, automatic registration (a request
carrying both the text and its hash registers it, in Redis, for 30 days).

Callers whose class is listed in ``HOTLINE_PERSISTED_ONLY`` (``anonymous``, ``user``,
``admin``) may run registered documents only: an ad-hoc text, or a hash nobody
registered, is refused with ``PERSISTED_QUERY_REQUIRED``; they cannot register either.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from collections import OrderedDict
from collections.abc import AsyncIterator
from pathlib import Path

from graphql import GraphQLError
from redis.exceptions import RedisError
from strawberry.extensions import SchemaExtension

from hotline.platform import redis
from hotline.schema.context import Context
from hotline.schema.guards import caller_class
from hotline.tenants.kernel.access import Actor

log = logging.getLogger(__name__)

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
REQUIRED = "PERSISTED_QUERY_REQUIRED"
MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
_HASH = re.compile(r"^[0-9a-f]{64}$")
TTL_SECONDS = 30 * 24 * 3600
REDIS_TIMEOUT = 0.5
_LOCAL_MAX = 2000


def sha256(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def load_registered(path: Path | None) -> dict[str, str]:
    """The registered documents, their hashes checked."""
    if path is None:
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    documents: dict[str, str] = {}
    if isinstance(data, list):
        return {sha256(str(document)): str(document) for document in data}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a JSON object {{hash: document}} or a list of documents")
    for digest, document in data.items():
        if sha256(str(document)) != digest:
            raise ValueError(f"{path}: the document under {digest[:12]}… has another hash")
        documents[digest] = str(document)
    return documents


class Registry:
    """Registered documents (fixed) and automatically registered ones (Redis, with an
    in-process cache that keeps working when Redis does not answer)."""

    def __init__(self, registered: dict[str, str]) -> None:
        self.registered = registered
        self.local: OrderedDict[str, str] = OrderedDict()

    def is_registered(self, digest: str) -> bool:
        return digest in self.registered

    async def get(self, digest: str) -> str | None:
        found = self.registered.get(digest) or self.local.get(digest)
        if found is not None:
            return found
        try:
            value = await asyncio.wait_for(
                redis.redis_client().get(redis.key("apq", digest)), REDIS_TIMEOUT
            )
        except (TimeoutError, OSError, RedisError):
            log.warning("persisted queries: Redis did not answer")
            return None
        if isinstance(value, str):
            self._remember(digest, value)
            return value
        return None

    async def add(self, digest: str, document: str) -> None:
        if digest in self.registered or digest in self.local:
            return
        self._remember(digest, document)
        try:
            await asyncio.wait_for(
                redis.redis_client().set(redis.key("apq", digest), document, ex=TTL_SECONDS),
                REDIS_TIMEOUT,
            )
        except (TimeoutError, OSError, RedisError):
            log.warning("persisted queries: Redis did not answer; kept in this process")

    def _remember(self, digest: str, document: str) -> None:
        self.local[digest] = document
        if len(self.local) > _LOCAL_MAX:
            self.local.popitem(last=False)


def _refusal(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


class PersistedQueries(SchemaExtension):
    def __init__(self, registry: Registry, persisted_only: frozenset[str]) -> None:
        super().__init__()
        self.registry = registry
        self.persisted_only = persisted_only

    async def on_operation(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        context = ctx.context
        actor = context.actor if isinstance(context, Context) else Actor(user_id=None)
        strict = caller_class(actor) in self.persisted_only
        requested = (ctx.operation_extensions or {}).get("persistedQuery")
        if isinstance(requested, dict):
            digest = str(requested.get("sha256Hash", "")).lower()
            if requested.get("version") != 1 or not _HASH.match(digest):
                raise _refusal("persistedQuery needs version 1 and a sha256Hash", MISMATCH)
            if ctx.query:
                if sha256(ctx.query) != digest:
                    raise _refusal("The query does not match its sha256Hash.", MISMATCH)
                if strict and not self.registry.is_registered(digest):
                    raise _refusal("Only registered queries are accepted.", REQUIRED)
                if not strict:
                    await self.registry.add(digest, ctx.query)
            else:
                document = await self.registry.get(digest)
                if document is None or (strict and not self.registry.is_registered(digest)):
                    # Apollo clients answer this message by sending the text with the hash
                    raise _refusal("PersistedQueryNotFound", REQUIRED if strict else NOT_FOUND)
                ctx.query = document
        elif strict and ctx.query and not self.registry.is_registered(sha256(ctx.query)):
            raise _refusal("Only registered queries are accepted.", REQUIRED)
        yield
