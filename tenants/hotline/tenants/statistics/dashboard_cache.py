"""The closed-period cache of the city dashboard (docs/statistics.md, "How a city
dashboard reads").

A city dashboard of a **closed period** (every day ended and none dirty) is kept in Redis
under the city's key (``redis.tenant_key``) for the period, the departments it covers and
the *version* of its stored days — how many rows, and the sum of the transaction ids
that wrote them (``xmin``; a sum, not the newest, so a wrapped-around id still changes
it): a recompute deletes and re-inserts a day, so any change gives another key and the
old entry is never read again. Only the stored figures are kept; names,
weights (the ranking), ``overdueNow`` and the call figures are read live every time.
Redis away: the dashboard computes as if there were no entry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import fields
from datetime import date
from typing import Any

import structlog
from redis.exceptions import RedisError

from hotline.platform.db.replica import read_connection
from hotline.platform.redis import redis_client, tenant_key
from hotline.tenants.statistics.aggregates import CityClock
from hotline.tenants.statistics.metrics import SUMMED, Figures, Totals

CACHE_SECONDS = 24 * 3600  # a closed period's figures; a new version is a new key anyway
log = structlog.get_logger(__name__)


_VERSION = """
SELECT (SELECT count(*) FROM stats_dirty_days
        WHERE tenant_id = $1 AND day >= $2 AND day <= $3) AS dirty,
       count(*) AS n, coalesce(sum(xmin::text::bigint), 0) AS written
FROM stats_daily_departments WHERE tenant_id = $1 AND day >= $2 AND day <= $3"""


async def closed_key(
    city: CityClock, first: date, last: date, selected: list[int] | None
) -> str | None:
    """The cache key of a closed, clean period's figures over ``selected`` (None: the
    whole city); None when the period is not closed or a day waits for the worker."""
    if last >= city.today():
        return None
    rows = await read_connection().execute_query_dict(_VERSION, [city.tenant_id, first, last])
    version = rows[0]
    if version["dirty"]:
        return None
    covered = "all" if selected is None else ",".join(map(str, selected))
    digest = hashlib.sha256(covered.encode()).hexdigest()[:16]
    return tenant_key(
        city.tenant_id,
        "stats",
        "city",
        f"{first}:{last}",
        digest,
        f"{version['n']}:{version['written']}",
    )


_RATES = tuple(f.name for f in fields(Figures) if f.name not in ("totals", "overdue_now"))


def _figures_json(f: Figures) -> dict[str, Any]:
    """What the cache keeps of ``f``: its sums, maps and rates (flat: no deep copy)."""
    t = f.totals
    out: dict[str, Any] = {name: getattr(f, name) for name in _RATES}
    out["totals"] = {
        **{c: getattr(t, c) for c in SUMMED},
        "received_by": t.received_by,
        "sign_hist": t.sign_hist,
        "reply_hist": t.reply_hist,
    }
    return out


def _figures_of(data: dict[str, Any]) -> Figures:
    return Figures(**{**data, "totals": Totals(**data["totals"]), "overdue_now": None})


async def cached(key: str | None) -> tuple[Figures, dict[int, Figures]] | None:
    if key is None:
        return None
    try:
        raw = await redis_client().get(key)
    except (RedisError, OSError) as exc:  # the cache is an aid: Redis away, compute
        log.warning("statistics.cache_unavailable", error=repr(exc))
        return None
    if raw is None:
        return None
    data = json.loads(raw)
    return _figures_of(data["whole"]), {
        int(i): _figures_of(d) for i, d in data["departments"].items()
    }


async def keep(key: str | None, whole: Figures, departments: Mapping[int, Figures]) -> None:
    if key is None:
        return
    data = {
        "whole": _figures_json(whole),
        "departments": {str(i): _figures_json(f) for i, f in departments.items()},
    }
    try:
        await redis_client().set(key, json.dumps(data), ex=CACHE_SECONDS)
    except (RedisError, OSError) as exc:
        log.warning("statistics.cache_unavailable", error=repr(exc))
