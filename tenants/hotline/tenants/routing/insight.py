"""What a city admin reads before trusting routing: the province model's held-out
figures and reliability curve, and the deployed routing measured on their own
labelled requests (``evaluateRouting``, ``hotline routing evaluate FILE --tenant``)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from hotline.tenants.kernel.access import Action, Actor, require
from hotline.tenants.kernel.errors import Invalid
from hotline.tenants.routing import ml_service, province

MAX_EVALUATION_ROWS = 5_000


async def province_model_info(*, actor: Actor | None) -> tuple[int, dict[str, Any]]:
    """(samples, metrics) of the function model the current city routes with."""
    if actor is not None:
        require(actor, Action.ROUTING_MANAGE)
    model = await province.province_model()
    return int(model.samples), dict(model.metrics)


def parse_rows(jsonl: str) -> list[dict[str, Any]]:
    """Labelled requests, one JSON object a line: ``text``, optional ``location``,
    ``expected_function`` (or ``function``), optional ``expected_department`` (a name)
    and ``expected_place``."""
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(jsonl.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise Invalid("line {line} is not JSON", field="jsonl", line=number) from exc
        if (
            not isinstance(row, dict)
            or not isinstance(row.get("text"), str)
            or not (row.get("expected_function") or row.get("function"))
        ):
            raise Invalid(
                "line {line} needs text and expected_function", field="jsonl", line=number
            )
        rows.append(row)
    if len(rows) > MAX_EVALUATION_ROWS:
        raise Invalid("at most {max} requests", field="jsonl", max=MAX_EVALUATION_ROWS)
    return rows


async def evaluate_deployed(*, actor: Actor | None, rows: list[dict[str, Any]]) -> Any:
    """The current city's routing (as it would score a ticket) on labelled requests."""
    from hotline.tenants.routing.engine import evaluate

    if actor is not None:
        require(actor, Action.ROUTING_MANAGE)
    engine = await ml_service.city_engine()
    if engine is None:
        raise Invalid("no department of the city carries a routable function yet")
    return await asyncio.to_thread(evaluate, engine, rows)
