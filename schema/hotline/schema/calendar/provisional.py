"""``deadlineProvisional``: a deadline in a year whose holiday arrangement is not known.

One query per request at most: the province's published years load through a
per-request dataloader (keyed by province), and every row compares its deadline's
year, in the answer zone, with them (docs/calendar.md, "Provisional deadlines").
"""

from __future__ import annotations

from datetime import datetime

from strawberry.dataloader import DataLoader

from hotline.schema.context import Info
from hotline.schema.datetimes import answer_zone
from hotline.schema.loaders import loader
from hotline.schema.tickets.resolve import now_or_later
from hotline.tenants.provinces.calendar_years import provisional, published_years

DESCRIPTION = (
    "True while the reply deadline falls in a year whose official holiday arrangement "
    "is not published yet (counted over plain weekends); it is recomputed once the "
    "province publishes the year."
)


def years_loader(info: Info) -> DataLoader[int, frozenset[int]]:
    return loader(info, "published_years", published_years)


def deadline_provisional(info: Info, province_id: int, deadline: datetime | None) -> bool:
    if deadline is None:
        return False
    zone = answer_zone()
    return now_or_later(
        years_loader(info), province_id, lambda years: provisional(deadline, years, zone)
    )
