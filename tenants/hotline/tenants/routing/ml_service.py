"""Learned routing: train the city's classifier on closed tickets, score a request.

Rules come first (area × category × keywords → department, ``RoutingRule``); only a
request no rule matches is scored by the model. Auto-dispatch is off unless the city
sets ``auto_dispatch_threshold`` in its settings (0–1]: a top-1
confidence at or above it marks the suggestion for automatic dispatch. Routing knows
requests as text and ids, not the tickets domain (which sits above it): acting on a
suggestion is ``hotline.tenants.tickets.autodispatch``.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import structlog
from tortoise import connections
from tortoise.transactions import in_transaction

from hotline.platform import clock, jobs
from hotline.platform.db.rows import Hydrator
from hotline.platform.tenancy import Scope, current_scope, current_tenant_id, use_scope
from hotline.tenants.kernel.access import Action, Actor, require
from hotline.tenants.kernel.audit import record_audit
from hotline.tenants.kernel.errors import Invalid
from hotline.tenants.provinces.current import forget
from hotline.tenants.provinces.models import Tenant
from hotline.tenants.routing.ml_models import RoutingModelVersion, RoutingSuggestion
from hotline.tenants.routing.service import matching_rules, request_text, urgent_duty_room

log = structlog.get_logger(__name__)

MIN_PER_DEPARTMENT = 5
MAX_SAMPLES = 50_000

_TRAINING_SET = """
SELECT DISTINCT ON (t.id) t.content, a.department_id
FROM tickets t JOIN assignments a ON a.tenant_id = t.tenant_id AND a.ticket_id = t.id
WHERE t.tenant_id = $1 AND t.status = 'closed' AND a.is_lead AND a.parent_id IS NULL
  -- the statistics demo's history is figures only (generated texts, departments drawn at
  -- random: seed/stats_demo.py): no model learns from it
  AND t.query_code_hash IS DISTINCT FROM 'demo-history'
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
    rows = await RoutingModelVersion._meta.db.execute_query_dict(
        _TRAINING_SET, [current_tenant_id(), limit]
    )
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
            "need closed tickets of 2+ departments with {min}+ each to train",
            min=min_per_department,
        )
    classifier = _classifier()
    trained = await asyncio.to_thread(classifier.train, texts, labels)
    blob = await asyncio.to_thread(classifier.dumps, trained.pipeline)
    async with in_transaction("default"):
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


async def _active_head() -> RoutingModelVersion | None:
    """The active model's row without its blob (megabytes): routing reads it per ticket."""
    return (
        await RoutingModelVersion.filter(is_active=True)
        .order_by("-version")
        .only("id", "tenant_id", "version", "samples")
        .first()
    )


# The loaded pipelines by (city, version): a stored model never changes, so its blob is
# read and loaded once per process; a city's older versions go when a newer one loads.
_PIPELINES: dict[tuple[int, int], Any] = {}


async def _pipeline(model: RoutingModelVersion) -> Any:
    """``model``'s pipeline, its blob read and loaded only the first time (raises the
    classifier's ``UnsafeModel`` for a blob it will not load)."""
    key = (model.tenant_id, model.version)
    if key not in _PIPELINES:
        blob = await RoutingModelVersion.filter(id=model.id).values_list("blob", flat=True)
        loaded = await asyncio.to_thread(_classifier().loads, bytes(blob[0]))
        for old in [k for k in _PIPELINES if k[0] == model.tenant_id]:
            del _PIPELINES[old]
        _PIPELINES[key] = loaded
    return _PIPELINES[key]


async def preload_models() -> int:
    """Import scikit-learn and load every active city's current model and its
    province's function model (worker start): the first routing then costs a
    prediction, not seconds. Answers how many city models loaded."""
    from hotline.tenants.routing import province

    with use_scope(Scope.platform()):
        cities = await Tenant.filter(is_active=True).order_by("id")
    loaded = 0
    for city in cities:
        with use_scope(Scope.city(city.id, city.province_id)):
            await province.province_model()
            model = await _active_head()
            if model is not None:
                await _pipeline(model)
                loaded += 1
    return loaded


async def suggest(*, text: str) -> tuple[int | None, list[Suggestion]]:
    """The active model's version and its top 3 for ``text`` (none without a model)."""
    model = await _active_head()
    if model is None:
        return None, []
    try:
        pipeline = await _pipeline(model)
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


async def rule_department(
    *, content: str, category_id: int | None, area_id: int | None
) -> int | None:
    """The department of the first routing rule matching the request, if any."""
    rules = await matching_rules(content=content, category_id=category_id, area_id=area_id)
    return rules[0].department_id if rules else None


async def city_engine() -> Any:
    """The current city's routing engine (engine.py): the province's function model,
    the city's own model blended in by its history, the tree and the gazetteer. None
    when no department of the city carries a routable function (an untagged tree: the
    city model alone then suggests, as before the catalogue)."""
    from hotline.tenants.routing import gazetteer, province
    from hotline.tenants.routing.engine import Engine

    tree, known = await gazetteer.city_routing()
    if not any(
        n.kind in ("bureau", "utility") for nodes in tree.by_function.values() for n in nodes
    ):
        return None
    model = await province.province_model()
    city = await _active_head()
    pipeline = None
    if city is not None:
        try:
            pipeline = await _pipeline(city)
        except _classifier().UnsafeModel as exc:
            await _refuse_model(city, str(exc))
            city = None
    return Engine(
        model=model,
        tree=tree,
        places=known,
        city_pipeline=pipeline,
        city_samples=city.samples if city is not None else 0,
        city_version=city.version if city is not None else None,
    )


async def _engine_suggestions(
    text: str, address: str, area_id: int | None
) -> tuple[list[Suggestion], int | None]:
    """The engine's top 3 departments and the version of the city model blended in."""
    from hotline.tenants.routing.places import Resolution

    engine = await city_engine()
    if engine is None:
        return [], None
    prediction = await asyncio.to_thread(engine.predict, text, address or None)
    ranked = prediction.departments
    area = engine.tree.by_id.get(area_id) if area_id is not None else None
    if area is not None and area.kind in ("district", "street", "community"):
        # the ticket's recorded area is the place: it beats what the words suggest
        ranked = engine.tree.rank(prediction.functions, Resolution(area.id, area.path, ()), text)
    return [Suggestion(d, round(p, 4)) for d, p, _ in ranked], engine.city_version


async def score(
    *,
    ticket_id: int,
    title: str,
    content: str,
    category_id: int | None,
    area_id: int | None,
    threshold: float | None,
    may_auto_dispatch: bool,
    address: str = "",
) -> RoutingSuggestion:
    """Route one request: an urgent matter (gas leak, fallen wires, missing manhole
    cover, people trapped) goes to the duty room, dispatched at once whatever a rule or
    the model says (a keyword rule "燃气" must not send a leak to the gas company's
    queue); else a matching rule decides; else the engine (province function model + the
    city's model + place resolution) suggests its top 3 departments — or, for a tree
    without functions, the city model alone — marked for auto-dispatch when the city's
    threshold is met (and ``may_auto_dispatch``: the center still holds it). Stored
    per ticket, replacing an earlier score."""
    fields: dict[str, Any]
    text = request_text(title, content)
    # Urgent first: checked on the words alone, before any rule (docs/routing.md).
    found = await urgent_duty_room(text)
    duty = found.duty_room if found is not None else None
    department = (
        None
        if duty is not None
        else await rule_department(content=content, category_id=category_id, area_id=area_id)
    )
    engine_ranked: list[Suggestion] = []
    engine_version: int | None = None
    if department is None:
        engine_ranked, engine_version = await _engine_suggestions(text, address, area_id)
    if department is not None:
        fields = {
            "source": "rule",
            "department_id": department,
            "confidence": 1.0,
            "suggestions": [{"department_id": department, "confidence": 1.0}],
            "model_version": None,
            "auto_dispatch": False,
        }
    elif duty is not None:
        log.info("routing.urgent", ticket_id=ticket_id, kind=found.kind if found else None)
        others = [s for s in engine_ranked if s.department_id != duty.id][:2]
        fields = {
            "source": "urgent",
            "department_id": duty.id,
            "confidence": 1.0,
            "suggestions": [
                {"department_id": duty.id, "confidence": 1.0},
                *({"department_id": s.department_id, "confidence": s.confidence} for s in others),
            ],
            "model_version": None,
            "auto_dispatch": may_auto_dispatch,
        }
    else:
        # the engine blended the city's model in already: scored again only without it
        version, ranked = (
            (engine_version, engine_ranked) if engine_ranked else await suggest(text=text)
        )
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
                and may_auto_dispatch
            ),
        }
    return await _store_suggestion(ticket_id, fields)


SUGGESTIONS = Hydrator(RoutingSuggestion)
_STORE = """
INSERT INTO routing_suggestions (created_at, tenant_id, province_id, ticket_id, source,
  department_id, confidence, suggestions, model_version, auto_dispatch)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10)
ON CONFLICT (tenant_id, ticket_id) DO UPDATE SET source = EXCLUDED.source,
  department_id = EXCLUDED.department_id, confidence = EXCLUDED.confidence,
  suggestions = EXCLUDED.suggestions, model_version = EXCLUDED.model_version,
  auto_dispatch = EXCLUDED.auto_dispatch
RETURNING {columns}
"""


async def _store_suggestion(ticket_id: int, fields: dict[str, Any]) -> RoutingSuggestion:
    """The ticket's suggestion, written or replaced in one statement (a re-score keeps
    the row and its creation time)."""
    scope = current_scope()
    rows = await connections.get("default").execute_query_dict(
        _STORE.format(columns=SUGGESTIONS.columns),
        [
            clock.now(),
            scope.tenant_id,
            scope.province_id,
            ticket_id,
            fields["source"],
            fields["department_id"],
            fields["confidence"],
            json.dumps(fields["suggestions"]),
            fields["model_version"],
            fields["auto_dispatch"],
        ],
    )
    return SUGGESTIONS.one(rows[0])


async def request_retrain(*, actor: Actor) -> bool:
    """Queue a training run for the current city (one per city and minute); False when
    one is already queued."""
    require(actor, Action.ROUTING_MANAGE)
    tenant_id = current_tenant_id()
    minute = clock.now().strftime("%Y%m%d%H%M")
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
        # One statement: a concurrent change to other settings is not lost.
        await Tenant._meta.db.execute_query(
            "UPDATE tenants SET settings = settings || jsonb_build_object("
            "'auto_dispatch_threshold', $1::float8), updated_at = now() WHERE id = $2",
            [threshold, tenant_id],
        )
    forget(tenant_id)
    await record_audit(
        actor_id=actor.user_id,
        action="routing.auto_dispatch",
        target=str(threshold),
        tenant_id=tenant_id,
        province_id=tenant.province_id,
    )
    return threshold
