"""The province-wide function model: trained on every city's closed history labelled
by function (the lead department's ``function``), the shipped corpus and the
catalogue's duties; stored per province (``routing_province_models``), newest used.
A province that never trained one is served the shipped model (corpus + catalogue): a
new city gets suggestions on its first day. The first process that needs it fits it and
stores it as the province's version 0 (a trained version starts at 1 and is preferred),
so the seconds of fitting are paid once per province, not by every API and worker
process at every start.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import datetime
from functools import lru_cache
from typing import Any

import structlog
from tortoise.transactions import in_transaction

from hotline.platform import clock
from hotline.platform.tenancy import Scope, current_scope, use_scope
from hotline.tenants.departments.functions import CATALOGUE_FILE, catalogue
from hotline.tenants.routing import corpus
from hotline.tenants.routing.places_models import ProvinceRoutingModel

log = structlog.get_logger(__name__)

MAX_HISTORY = 200_000

_HISTORY = """
SELECT DISTINCT ON (t.id) t.content, d.function
FROM tickets t
JOIN assignments a ON a.tenant_id = t.tenant_id AND a.ticket_id = t.id
JOIN departments d ON d.tenant_id = a.tenant_id AND d.id = a.department_id
WHERE t.province_id = $1 AND t.status = 'closed' AND a.is_lead AND a.parent_id IS NULL
  -- the statistics demo's history is figures only (generated texts, departments drawn at
  -- random: seed/stats_demo.py): no model learns from it
  AND t.query_code_hash IS DISTINCT FROM 'demo-history'
  AND d.function IS NOT NULL
  AND NOT t.confidential  -- a model shared by the province's cities learns no confidential text
ORDER BY t.id DESC, a.round DESC
LIMIT $2
"""


def _fm() -> Any:
    # scikit-learn is imported by the processes that train or score, not by every API one
    from hotline.tenants.routing import functions_model

    return functions_model


def measure(model: Any) -> dict[str, Any]:
    """Held-out figures of a function model on the corpus's held-out requests (never
    trained on): top-1/top-3 and the reliability curve."""
    fm = _fm()
    rows = corpus.heldout()
    ranked = model.rank([r["text"] for r in rows])
    expected = [r["function"] for r in rows]
    top1, top3 = fm.accuracy(ranked, expected)
    return {
        "top1": round(top1, 4),
        "top3": round(top3, 4),
        "heldout": len(rows),
        "reliability": fm.reliability(ranked, expected),
    }


@lru_cache(maxsize=1)
def shipped_fingerprint() -> str:
    """What the shipped model is fitted from: the algorithm, the corpus and the catalogue
    (a release that changes one of them makes every stored version 0 stale)."""
    digest = hashlib.sha256(_fm().ALGORITHM.encode())
    for path in [*sorted(corpus.HERE.glob("*.jsonl")), CATALOGUE_FILE]:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@lru_cache(maxsize=1)
def shipped_model() -> Any:
    """The corpus + catalogue model (no history), with its held-out figures."""
    model = _fm().fit()
    model.metrics = {
        **measure(model),
        "history": 0,
        "version": 0,
        "fingerprint": shipped_fingerprint(),
    }
    return model


async def history(province_id: int, *, limit: int = MAX_HISTORY) -> tuple[list[str], list[str]]:
    """Every city's closed tickets of the province: content → the lead's function."""
    routable = {code for code, f in catalogue().items() if f.routable}
    with use_scope(Scope.province(province_id)):
        async with in_transaction("default") as db:
            # training is batch work over a whole province's history: not bound by the
            # API's statement timeout (the seed and the worker call this, never a request)
            await db.execute_script("SET LOCAL statement_timeout = '10min'")
            rows = await db.execute_query_dict(_HISTORY, [province_id, limit])
    keep = [r for r in rows if r["function"] in routable]
    return [r["content"] for r in keep], [r["function"] for r in keep]


async def train_province_model(province_id: int) -> ProvinceRoutingModel:
    """Fit and store a new version for the province (the job runs it as the system)."""
    from hotline.tenants.routing import classifier

    texts, labels = await history(province_id)
    model = await asyncio.to_thread(_fm().fit, (texts, labels))
    metrics = await asyncio.to_thread(measure, model)
    blob = await asyncio.to_thread(classifier.dumps, model.pipeline)
    with use_scope(Scope.province(province_id)):
        last = (
            await ProvinceRoutingModel.filter(province_id=province_id).order_by("-version").first()
        )
        row = await ProvinceRoutingModel.create(
            province_id=province_id,
            version=(last.version + 1) if last else 1,
            algorithm=_fm().ALGORITHM,
            samples=model.samples,
            metrics={**metrics, "history": len(texts)},
            blob=blob,
        )
    log.info("routing.province_model", province_id=province_id, version=row.version)
    return row


# loaded stored models by (province, version, stored at): a version 0 replaced by a refit
# keeps its number but not its time. Small: a process serves a province or a few.
_LOADED: dict[tuple[int, int, datetime], Any] = {}
_LOADED_MAX = 8


def _load(blob: bytes) -> Any:
    from hotline.tenants.routing import classifier

    return _fm().FunctionModel(pipeline=classifier.loads(blob), samples=0)


async def current_row(province_id: int | None = None) -> ProvinceRoutingModel | None:
    province_id = province_id if province_id is not None else current_scope().province_id
    if province_id is None:
        return None
    return await ProvinceRoutingModel.filter(province_id=province_id).order_by("-version").first()


async def _store_shipped(province_id: int) -> ProvinceRoutingModel:
    """The shipped model stored as the province's version 0 (fitted here unless another
    process stored it first), replacing a version 0 of another fingerprint. Not under a
    lock: at a deployment's very first start a few processes may fit at once; one row
    wins, and every later start loads it."""
    from hotline.tenants.routing import classifier

    model = await asyncio.to_thread(shipped_model)
    blob = await asyncio.to_thread(classifier.dumps, model.pipeline)
    with use_scope(Scope.province(province_id)):
        async with in_transaction("default") as db:
            await db.execute_query(
                "INSERT INTO routing_province_models"
                " (province_id, version, algorithm, samples, metrics, blob, created_at)"
                " VALUES ($1, 0, $2, $3, $4::jsonb, $5, $6)"
                " ON CONFLICT (province_id, version) DO UPDATE SET algorithm = EXCLUDED.algorithm,"
                " samples = EXCLUDED.samples, metrics = EXCLUDED.metrics, blob = EXCLUDED.blob,"
                " created_at = EXCLUDED.created_at WHERE routing_province_models.metrics"
                " ->> 'fingerprint' IS DISTINCT FROM EXCLUDED.metrics ->> 'fingerprint'",
                [
                    province_id,
                    _fm().ALGORITHM,
                    model.samples,
                    json.dumps(model.metrics, ensure_ascii=False),
                    blob,
                    clock.now(),
                ],
            )
        row = await current_row(province_id)
    assert row is not None
    log.info("routing.shipped_model_stored", province_id=province_id, version=row.version)
    return row


async def province_model(province_id: int | None = None) -> Any:
    """The function model the current city's province routes with: its newest stored
    version (the shipped one is stored as version 0 the first time it is needed)."""
    province_id = province_id if province_id is not None else current_scope().province_id
    if province_id is None:
        return await asyncio.to_thread(shipped_model)
    head = await (
        ProvinceRoutingModel.filter(province_id=province_id)
        .order_by("-version")
        .first()
        .values("version", "created_at", "samples", "metrics")
    )
    if head is None or (
        head["version"] == 0 and head["metrics"].get("fingerprint") != shipped_fingerprint()
    ):
        row = await _store_shipped(province_id)
        head = {k: getattr(row, k) for k in ("version", "created_at", "samples", "metrics")}
    if head["version"] == 0 and shipped_model.cache_info().currsize:
        return shipped_model()  # fitted in this process: the same model, no load
    key = (province_id, head["version"], head["created_at"])
    model: Any = _LOADED.get(key)
    if model is None:  # the blob (megabytes) is read only when this version is new here
        blobs = await ProvinceRoutingModel.filter(
            province_id=province_id, version=head["version"]
        ).values_list("blob", flat=True)
        model = await asyncio.to_thread(_load, bytes(blobs[0]))
        if len(_LOADED) >= _LOADED_MAX:
            _LOADED.pop(next(iter(_LOADED)))
        _LOADED[key] = model
    model.samples = head["samples"]
    model.metrics = {**head["metrics"], "version": head["version"]}
    return model
