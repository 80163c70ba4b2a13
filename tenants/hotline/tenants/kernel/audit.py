"""The audit log: admin actions and every unmasking of personal data. Append-only.

Every domain records here (cities, departments, people, tickets, knowledge), so it
lives in the kernel.
"""

from __future__ import annotations

import json
from typing import Any

from tortoise import fields

from hotline.platform import clock
from hotline.platform.db.models import Model


class AuditEvent(Model):
    """Admin actions and every unmasking of personal data. Append-only.

    ``tenant_id``/``province_id`` are NULL for platform actions; policies let a city
    read its own rows and a province its province's.
    """

    tenant_id = fields.BigIntField(null=True, db_index=True)
    province_id = fields.BigIntField(null=True)
    actor_id = fields.BigIntField(null=True)
    action = fields.CharField(max_length=64)
    target = fields.CharField(max_length=200, default="")
    detail: Any = fields.JSONField(default=dict)
    ip = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "audit_events"


async def record_audit(
    *,
    actor_id: int | None,
    action: str,
    target: str = "",
    detail: dict[str, Any] | None = None,
    tenant_id: int | None = None,
    province_id: int | None = None,
    ip: str | None = None,
) -> None:
    # A plain INSERT without RETURNING: the row may be one the current scope cannot read
    # back (a platform action, a login lockout), and PostgreSQL applies the read policy
    # to RETURNING rows, which is what Model.create would ask for.
    await AuditEvent._meta.db.execute_query(
        'INSERT INTO "audit_events" (created_at, tenant_id, province_id, actor_id, action, '
        "target, detail, ip) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        [
            clock.now(),
            tenant_id,
            province_id,
            actor_id,
            action,
            target[:200],
            json.dumps(detail or {}, ensure_ascii=False, default=str),
            ip,
        ],
    )
