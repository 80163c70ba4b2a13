"""The escalation schedule of supervision orders (pure).

A city configures it in ``Tenant.features["supervision_escalation"]``:
``{"after_working_hours": [16]}`` — level 1 (the department's manager) escalates to
level 2 (city leadership) after 16 working hours; a longer list adds levels. The
default is two working days to the last level.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hotline.tenants.kernel.errors import Invalid

DEFAULT_AFTER_WORKING_HOURS: tuple[float, ...] = (16.0,)


@dataclass(frozen=True)
class EscalationSchedule:
    # after_working_hours[i]: time at level i+1 before moving to level i+2
    after_working_hours: tuple[float, ...] = DEFAULT_AFTER_WORKING_HOURS

    @property
    def max_level(self) -> int:
        return len(self.after_working_hours) + 1

    def hours_at(self, level: int) -> float | None:
        """Working hours a supervision stays at ``level``; None at the last level."""
        if level >= self.max_level:
            return None
        return self.after_working_hours[level - 1]


def schedule_from_features(features: dict[str, Any] | None) -> EscalationSchedule:
    raw = (features or {}).get("supervision_escalation") or {}
    hours = raw.get("after_working_hours", list(DEFAULT_AFTER_WORKING_HOURS))
    if (
        not isinstance(hours, list)
        or not hours
        or not all(isinstance(h, int | float) and 0 < h <= 240 for h in hours)
    ):
        raise Invalid(
            "supervision_escalation.after_working_hours: 1+ numbers of hours (0, 240]",
            field="features",
        )
    return EscalationSchedule(tuple(float(h) for h in hours))
