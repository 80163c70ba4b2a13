"""Learned routing jobs: train a city's model, score a new ticket."""

from __future__ import annotations

from typing import Any

from hotline.tenants.routing.ml_service import train_routing_model
from hotline.tenants.tickets.autodispatch import score_ticket
from hotline.workers.scoped import tenant_job


@tenant_job
async def train_routing(ctx: dict[str, Any]) -> dict[str, Any]:
    model = await train_routing_model(actor=None)
    return {"version": model.version, "top1": model.top1_accuracy, "top3": model.top3_accuracy}


@tenant_job
async def route_ticket(ctx: dict[str, Any], *, ticket_id: int) -> dict[str, Any]:
    row = await score_ticket(ticket_id=ticket_id)
    return {
        "source": row.source,
        "department_id": row.department_id,
        "confidence": row.confidence,
        "auto_dispatch": row.auto_dispatch,
    }
