"""Which GraphQL operations may read from the replica (docs/operations.md "Read replicas").

A query operation whose root fields are all statistics, search or list fields reads
through :func:`hotline.platform.db.replica.replica_reads`; everything else — mutations,
subscriptions, single-object reads, and any query by a caller who wrote within the last
few seconds (read-your-writes across requests; a caller is its user, or its API key for
integrations) — runs under ``primary_only``. Installed
only when a replica is configured: nothing is added otherwise.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import structlog
from graphql import FieldNode, OperationDefinitionNode
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from hotline.platform import redis as redis_keys
from hotline.platform.db import replica
from hotline.platform.redis import redis_client

log = structlog.get_logger(__name__)

# Root query fields a replica may answer: aggregates, searches and lists, none of which
# a client reads to confirm its own write in the same breath (those are covered by the
# writer window below anyway).
REPLICA_FIELDS = frozenset(
    {
        # statistics
        "cityStatistics",
        "provinceStatistics",
        "businessFigures",
        "hotTopics",
        "publicFigures",
        "publicCases",
        "policyEligibleCount",
        # search
        "knowledgeSearch",
        "articles",
        # lists
        "tickets",
        "inbox",
        "centerQueue",
        "auditEvents",
        "enterprises",
        "businessRequests",
        "citizenHistory",
        "__typename",
    }
)


def root_fields(document: object, operation_name: str | None) -> frozenset[str] | None:
    """The root field names of the operation executed, or None when they cannot be told
    by their names alone (fragments at the root)."""
    definitions = getattr(document, "definitions", ())
    operations = [d for d in definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1:
        return None
    names = set()
    for selection in operations[0].selection_set.selections:
        if not isinstance(selection, FieldNode):
            return None
        names.add(selection.name.value)
    return frozenset(names)


def writer(actor: object) -> tuple[str, int] | None:
    """Whose writes a caller must read back: a user (any of their sessions), else an
    integration's API key (Open311, CTI and SMS gateways have no user), else nobody."""
    user_id = getattr(actor, "user_id", None)
    if user_id is not None:
        return ("user", int(user_id))
    api_key_id = getattr(actor, "api_key_id", None)
    if api_key_id is not None:
        return ("key", int(api_key_id))
    return None


def _writer_key(who: tuple[str, int]) -> str:
    kind, ident = who
    if kind == "user":  # the key's shape before API keys had one (a rolling deploy)
        return redis_keys.key("replica", "wrote", ident)
    return redis_keys.key("replica", "wrote", kind, ident)


def _writer_window_ms() -> int:
    health = replica.health()
    assert health is not None
    return int((health.max_lag + 2 * health.interval) * 1000)


async def _wrote_recently(who: tuple[str, int] | None) -> bool:
    if who is None:
        return False
    try:
        return bool(await redis_client().exists(_writer_key(who)))
    except Exception:  # Redis down: we cannot tell, so the primary answers
        return True


async def _remember_writer(who: tuple[str, int] | None) -> None:
    if who is None:
        return
    try:
        await redis_client().set(_writer_key(who), "1", px=_writer_window_ms())
    except Exception as exc:  # the window is lost; the lag bound still holds
        log.warning("replica.writer_mark_failed", error=type(exc).__name__)


class ReadRouting(SchemaExtension):
    async def on_execute(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        who = writer(getattr(ctx.context, "actor", None))
        try:
            kind = ctx.operation_type
        except Exception:  # no document: nothing executes
            kind = None
        if kind is OperationType.QUERY:
            fields = root_fields(ctx.graphql_document, ctx.operation_name)
            if fields is not None and fields <= REPLICA_FIELDS and not await _wrote_recently(who):
                async with replica.replica_reads():
                    yield
                return
        with replica.primary_only():
            yield
        if kind is OperationType.MUTATION:
            await _remember_writer(who)
