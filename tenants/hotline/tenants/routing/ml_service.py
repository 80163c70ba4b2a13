"""Learned routing: train the city's classifier on closed tickets, score new tickets.

Rules come first (area × category × keywords → department, ``RoutingRule``); only a
ticket no rule matches is scored by the model. Auto-dispatch is off unless the city
sets ``Tenant.features["routing"]["auto_dispatch_threshold"]`` (0–1): a top-1
confidence at or above it marks the suggestion for automatic dispatch.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from types import ModuleType
from typing import Any

import structlog
from tortoise.transactions import in_transaction

from hotline.platform import jobs
from hotline.platform.tenancy import Scope, current_tenant_id, use_scope
from hotline.tenants.access import Action, Actor, require
from hotline.tenants.accounts.audit import record_audit
from hotline.tenants.accounts.models import Role
from hotline.tenants.errors import Invalid, NotFound
from hotline.tenants.provinces.models import Tenant
from hotline.tenants.routing.ml_models import RoutingModelVersion, RoutingSuggestion
from hotline.tenants.routing.service import matching_rules
from hotline.tenants.tickets import service as tickets
from hotline.tenants.tickets.flow import IllegalTransition
from hotline.tenants.tickets.models import Status, Ticket

log = structlog.get_logger(__name__)

MIN_PER_DEPARTMENT = 5
MAX_SAMPLES = 50_000

_TRAINING_SET = """
SELECT DISTINCT ON (t.id) t.content, a.department_id
FROM tickets t JOIN assignments a ON a.tenant_id = t.tenant_id AND a.ticket_id = t.id
WHERE t.tenant_id = $1 AND t.status = 'closed' AND a.is_lead AND a.parent_id IS NULL
ORDER BY t.id DESC, a.round DESC
LIMIT $2
"""


def _classifier() -> ModuleType:
    # scikit-learn takes a second and ~100 MB to import: only processes that train or
    # score pay for it, not every API process that merely reads a model's accuracy.
    from hotline.tenants.routing import classifier

    return classifier


@dataclass(frozen=True)
class Suggestion:
    department_id: int
    confidence: float


async def training_set(*, limit: int = MAX_SAMPLES) -> tuple[list[str], list[int]]:
    """Closed tickets of the current city (newest first): content → lead department."""
    rows = await Ticket._meta.db.execute_query_dict(_TRAINING_SET, [current_tenant_id(), limit])
    return [r["content"] for r in rows], [int(r["department_id"]) for r in rows]


async def train_routing_model(
    *, actor: Actor | None, min_per_department: int = MIN_PER_DEPARTMENT
) -> RoutingModelVersion:
    """Train and store a new version (the job runs it as the system: ``actor`` None)."""
    if actor is not None:
        require(actor, Action.ROUTING_MANAGE)
    texts, labels = await training_set()
    counts: dict[int, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    keep = [i for i, y in enumerate(labels) if counts[y] >= min_per_department]
    texts, labels = [texts[i] for i in keep], [labels[i] for i in keep]
    if len(set(labels)) < 2:
        raise Invalid(
            f"need closed tickets of 2+ departments with {min_per_department}+ each to train"
        )
    classifier = _classifier()
    trained = await asyncio.to_thread(classifier.train, texts, labels)
    blob = await asyncio.to_thread(classifier.dumps, trained.pipeline)
    async with in_transaction():
        last = await RoutingModelVersion.all().order_by("-version").first()
        await RoutingModelVersion.filter(is_active=True).update(is_active=False)
        return await RoutingModelVersion.create(
            version=(last.version + 1) if last else 1,
            algorithm=classifier.ALGORITHM,
            samples=len(texts),
            train_size=trained.evaluation.train_size,
            test_size=trained.evaluation.test_size,
            top1_accuracy=trained.evaluation.top1,
            top3_accuracy=trained.evaluation.top3,
            labels=trained.labels,
            blob=blob,
        )


async def active_model(*, actor: Actor | None = None) -> RoutingModelVersion | None:
    if actor is not None:
        require(actor, Action.ROUTING_MANAGE)
    return await RoutingModelVersion.filter(is_active=True).order_by("-version").first()


@lru_cache(maxsize=32)
def _pipeline(tenant_id: int, version: int, blob: bytes) -> Any:
    return _classifier().loads(blob)


async def suggest(*, text: str) -> tuple[int | None, list[Suggestion]]:
    """The active model's version and its top 3 for ``text`` (none without a model)."""
    model = await active_model()
    if model is None:
        return None, []
    try:
        pipeline = _pipeline(model.tenant_id, model.version, bytes(model.blob))
    except _classifier().UnsafeModel as exc:
        await _refuse_model(model, str(exc))
        return None, []
    ranked = _classifier().top_k(pipeline, [text])[0]
    return model.version, [Suggestion(d, round(p, 4)) for d, p in ranked]


async def _refuse_model(model: RoutingModelVersion, reason: str) -> None:
    """A stored model that cannot be loaded safely (an old pickle): retire it, never
    unpickle it, and queue a fresh training run that stores a skops model."""
    log.warning(
        "routing.model_refused", tenant_id=model.tenant_id, version=model.version, reason=reason
    )
    await RoutingModelVersion.filter(id=model.id).update(is_active=False)
    await jobs.enqueue(
        "train_routing",
        tenant_id=model.tenant_id,
        job_id=f"train_routing:{model.tenant_id}:refused-v{model.version}",
    )


async def rule_department(ticket: Ticket) -> int | None:
    """The department of the first routing rule matching the ticket, if any."""
    rules = await matching_rules(
        content=ticket.content, category_id=ticket.category_id, area_id=ticket.area_id
    )
    return rules[0].department_id if rules else None


def auto_dispatch_threshold(features: dict[str, Any] | None) -> float | None:
    """The city's threshold, or None when auto-dispatch is off (the default)."""
    value = ((features or {}).get("routing") or {}).get("auto_dispatch_threshold")
    if value is None:
        return None
    if not isinstance(value, int | float) or not 0 < value <= 1:
        raise Invalid("routing.auto_dispatch_threshold must be in (0, 1]", field="features")
    return float(value)


async def score_ticket(*, ticket_id: int) -> RoutingSuggestion:
    """Route one new ticket: a matching rule decides; else the model suggests its top 3,
    marked for auto-dispatch when the city's threshold is met. Stored per ticket."""
    ticket = await Ticket.get_or_none(id=ticket_id)
    if ticket is None:
        raise NotFound("ticket")
    with use_scope(Scope.platform()):
        tenant = await Tenant.get(id=ticket.tenant_id)
    fields: dict[str, Any]
    department = await rule_department(ticket)
    if department is not None:
        fields = {
            "source": "rule",
            "department_id": department,
            "confidence": 1.0,
            "suggestions": [{"department_id": department, "confidence": 1.0}],
            "model_version": None,
            "auto_dispatch": False,
        }
    else:
        version, ranked = await suggest(text=f"{ticket.title} {ticket.content}".strip())
        threshold = auto_dispatch_threshold(tenant.features)
        best = ranked[0] if ranked else None
        fields = {
            "source": "model" if best else "none",
            "department_id": best.department_id if best else None,
            "confidence": best.confidence if best else None,
            "suggestions": [
                {"department_id": s.department_id, "confidence": s.confidence} for s in ranked
            ],
            "model_version": version,
            "auto_dispatch": bool(
                best
                and threshold is not None
                and best.confidence >= threshold
                and ticket.status is Status.RECEIVED
            ),
        }
    row, _ = await RoutingSuggestion.update_or_create(defaults=fields, ticket_id=ticket.id)
    return row


async def ticket_suggestion(*, actor: Actor, ticket_id: int) -> RoutingSuggestion | None:
    require(actor, Action.TICKET_QUEUE_READ)
    return await RoutingSuggestion.get_or_none(ticket_id=ticket_id)


async def request_retrain(*, actor: Actor) -> bool:
    """Queue a training run for the current city (one per city and minute); False when
    one is already queued."""
    require(actor, Action.ROUTING_MANAGE)
    tenant_id = current_tenant_id()
    minute = datetime.now(UTC).strftime("%Y%m%d%H%M")
    job = await jobs.enqueue(
        "train_routing", tenant_id=tenant_id, job_id=f"train_routing:{tenant_id}:{minute}"
    )
    return job is not None


async def set_auto_dispatch_threshold(*, actor: Actor, threshold: float | None) -> float | None:
    """Turn auto-dispatch on above ``threshold`` (0–1] for the current city, or off (None)."""
    require(actor, Action.ROUTING_MANAGE)
    if threshold is not None and not 0 < threshold <= 1:
        raise Invalid("the threshold is a confidence in (0, 1]", field="threshold")
    tenant_id = current_tenant_id()
    with use_scope(Scope.platform()):
        tenant = await Tenant.get(id=tenant_id)
        # One statement: a concurrent change to other features is not lost.
        await Tenant._meta.db.execute_query(
            "UPDATE tenants SET features = jsonb_set(features, '{routing}', "
            "COALESCE(features->'routing', '{}'::jsonb) - 'auto_dispatch_threshold' "
            "|| CASE WHEN $1::float8 IS NULL THEN '{}'::jsonb "
            "ELSE jsonb_build_object('auto_dispatch_threshold', $1::float8) END), "
            "updated_at = now() WHERE id = $2",
            [threshold, tenant_id],
        )
    await record_audit(
        actor_id=actor.user_id,
        action="routing.auto_dispatch",
        target=str(threshold),
        tenant_id=tenant_id,
        province_id=tenant.province_id,
    )
    return threshold


# The router acts as a dispatcher of the city, with no user behind it.
def _router(ticket: Ticket) -> Actor:
    return Actor(
        user_id=None,
        tenant_id=ticket.tenant_id,
        province_id=ticket.province_id,
        roles=frozenset({Role.DISPATCHER}),
        username="router",
    )


async def route_new_ticket(*, ticket_id: int) -> RoutingSuggestion:
    """Score a new ticket and, above the city's threshold, dispatch it to the suggestion.

    Safe to run again: a ticket a person (or an earlier run) has dispatched stays as it is.
    """
    suggestion = await score_ticket(ticket_id=ticket_id)
    if suggestion.auto_dispatch and suggestion.department_id is not None:
        ticket = await Ticket.get(id=ticket_id)
        with contextlib.suppress(IllegalTransition):
            await tickets.dispatch_ticket(
                actor=_router(ticket),
                ticket_id=ticket_id,
                lead_department_id=suggestion.department_id,
                reason=f"auto-dispatched by the routing model ({suggestion.confidence:.2f})",
            )
    return suggestion
