"""The audit log: admin actions and every unmasking of personal data. Append-only."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hotline.tenants.accounts.models import AuditEvent


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
            datetime.now(UTC),
            tenant_id,
            province_id,
            actor_id,
            action,
            target[:200],
            json.dumps(detail or {}, ensure_ascii=False, default=str),
            ip,
        ],
    )
