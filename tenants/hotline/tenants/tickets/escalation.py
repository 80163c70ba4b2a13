"""The escalation schedule of supervision orders (pure).

A city sets it as ``supervision_escalation_hours`` in its settings
(:mod:`hotline.tenants.provinces.settings`): ``(16,)`` — level 1 (the department's
manager) escalates to level 2 (city leadership) after 16 working hours; a longer tuple
adds levels. The default is two working days to the last level.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotline.tenants.provinces.settings import CitySettings


@dataclass(frozen=True)
class EscalationSchedule:
    # after_working_hours[i]: time at level i+1 before moving to level i+2
    after_working_hours: tuple[float, ...]

    @property
    def max_level(self) -> int:
        return len(self.after_working_hours) + 1

    def hours_at(self, level: int) -> float | None:
        """Working hours a supervision stays at ``level``; None at the last level."""
        if level >= self.max_level:
            return None
        return self.after_working_hours[level - 1]


def schedule_of(settings: CitySettings) -> EscalationSchedule:
    return EscalationSchedule(settings.supervision_escalation_hours)
