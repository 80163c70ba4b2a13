"""How far each city's sweeps have got: a deadline is looked at once, when it passes."""

from __future__ import annotations

from tortoise import fields

from hotline.platform.db.models import TenantModel


class SweepMark(TenantModel):
    kind = fields.CharField(max_length=20)  # due_soon | overdue | sign_overdue
    swept_until = fields.DatetimeField()
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "sweep_marks"
        unique_together = (("tenant_id", "kind"),)
