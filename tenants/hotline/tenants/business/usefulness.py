"""How useful the business service was, and how fast: per service manager, industry,
area (the enterprise's, at the first level below the center: its district) and lead
department (docs/business.md, "Figures").

useful rate = useful / rated (partly useful and not useful count in the denominator);
first response on time = responded by the deadline / responded or past the deadline.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from hotline.platform import clock
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.business.access import city_scope, require_business
from hotline.tenants.business.models import BusinessRequest
from hotline.tenants.kernel.access import Action, Actor, require
from hotline.tenants.kernel.errors import Invalid, NotFound

MAX_DAYS = 366


class Dimension(enum.StrEnum):
    MANAGER = "manager"
    INDUSTRY = "industry"
    AREA = "area"
    DEPARTMENT = "department"
    CITY = "city"  # one row per city (the province's roll-up)


_KEY = {
    Dimension.MANAGER: "r.manager_id::text",
    Dimension.INDUSTRY: "e.industry",
    # the second id of the area's path: /center/district/street/ → district
    Dimension.AREA: "split_part(d.path, '/', 3)",
    Dimension.DEPARTMENT: "(SELECT a.department_id::text FROM assignments a"
    " WHERE a.tenant_id = r.tenant_id AND a.ticket_id = r.ticket_id AND a.is_lead"
    " AND a.parent_id IS NULL ORDER BY a.round DESC LIMIT 1)",
    Dimension.CITY: "r.tenant_id::text",
}
# Keys that mean the same in every city: the province adds its cities' rows up. The
# others (a manager, an area, a department) are one city's: kept apart by city.
_PROVINCE_WIDE = frozenset({Dimension.INDUSTRY, Dimension.CITY})


@dataclass(frozen=True)
class Usefulness:
    key: str | None  # a user id, a division code, a department id; None = none
    requests: int
    open: int
    responded: int
    responded_on_time: int
    overdue_unresponded: int
    rated: int
    useful: int
    partly: int
    not_useful: int
    # financing applications of these requests, by outcome, and the amount approved
    applications: int = 0
    approved: int = 0
    rejected: int = 0
    withdrawn: int = 0
    approved_amount: Decimal = Decimal(0)
    city_id: int | None = None  # the province roll-up: the city of a city's own key

    @property
    def useful_rate(self) -> Decimal | None:
        return None if not self.rated else Decimal(self.useful) / Decimal(self.rated)

    @property
    def on_time_rate(self) -> Decimal | None:
        due = self.responded + self.overdue_unresponded
        return None if not due else Decimal(self.responded_on_time) / Decimal(due)


def _row(r: dict[str, Any]) -> Usefulness:
    return Usefulness(
        key=r["key"] or None,
        requests=r["requests"],
        open=r["open"],
        responded=r["responded"],
        responded_on_time=r["on_time"],
        overdue_unresponded=r["overdue"],
        rated=r["rated"],
        useful=r["useful"],
        partly=r["partly"],
        not_useful=r["not_useful"],
        applications=r["applications"],
        approved=r["approved"],
        rejected=r["rejected"],
        withdrawn=r["withdrawn"],
        approved_amount=Decimal(r["approved_amount"]),
        city_id=r["city"],
    )


def _period(first: date, last: date) -> tuple[datetime, datetime]:
    if last < first or (last - first).days >= MAX_DAYS:
        raise Invalid("from must not be after to, at most {max} days", field="to", max=MAX_DAYS)
    start = datetime.combine(first, time(), tzinfo=clock.now().tzinfo)
    end = datetime.combine(last + timedelta(days=1), time(), tzinfo=clock.now().tzinfo)
    return start, end


def _sql(by: Dimension, *, province: bool) -> str:
    """One statement over the requests the scope sees (a city, or a province's cities)."""
    city = "NULL::bigint" if not province or by in _PROVINCE_WIDE else "r.tenant_id"
    return (
        f"SELECT {city} AS city, {_KEY[by]} AS key, count(*) AS requests,"
        " count(*) FILTER (WHERE t.status NOT IN ('closed','cancelled','merged',"
        "'transferred','rejected','answered')) AS open,"
        " count(r.responded_at) AS responded,"
        " count(*) FILTER (WHERE r.responded_at <= r.response_deadline) AS on_time,"
        " count(*) FILTER (WHERE r.responded_at IS NULL AND r.response_deadline < $3)"
        " AS overdue,"
        " count(r.rating) AS rated,"
        " count(*) FILTER (WHERE r.rating = 'useful') AS useful,"
        " count(*) FILTER (WHERE r.rating = 'partly') AS partly,"
        " count(*) FILTER (WHERE r.rating = 'not_useful') AS not_useful,"
        " coalesce(sum(f.applications), 0)::int AS applications,"
        " coalesce(sum(f.approved), 0)::int AS approved,"
        " coalesce(sum(f.rejected), 0)::int AS rejected,"
        " coalesce(sum(f.withdrawn), 0)::int AS withdrawn,"
        " coalesce(sum(f.approved_amount), 0) AS approved_amount"
        " FROM business_requests r"
        " JOIN tickets t ON t.tenant_id = r.tenant_id AND t.id = r.ticket_id"
        " JOIN business_enterprises e ON e.tenant_id = r.tenant_id AND e.id = r.enterprise_id"
        " LEFT JOIN departments d ON d.tenant_id = e.tenant_id AND d.id = e.area_id"
        " LEFT JOIN LATERAL (SELECT count(*) AS applications,"
        " count(*) FILTER (WHERE a.status = 'approved') AS approved,"
        " count(*) FILTER (WHERE a.status = 'rejected') AS rejected,"
        " count(*) FILTER (WHERE a.status = 'withdrawn') AS withdrawn,"
        " sum(a.approved_amount) AS approved_amount"
        " FROM business_financing_applications a"
        " WHERE a.tenant_id = r.tenant_id AND a.request_id = r.id) f ON TRUE"
        " WHERE r.created_at >= $1 AND r.created_at < $2"
        " GROUP BY 1, 2 ORDER BY 1 NULLS FIRST, 2 NULLS LAST"
    )


async def usefulness(*, actor: Actor, by: Dimension, first: date, last: date) -> list[Usefulness]:
    """Requests submitted over [first, last] (UTC days), grouped by ``by``."""
    await require_business(actor, Action.BUSINESS_READ)
    start, end = _period(first, last)
    sql = _sql(by, province=False)
    with city_scope(actor):
        rows = await BusinessRequest._meta.db.execute_query_dict(sql, [start, end, clock.now()])
    return [_row(r) for r in rows]


async def province_usefulness(
    *, actor: Actor, by: Dimension, first: date, last: date
) -> list[Usefulness]:
    """The same figures over every city of the actor's province, under the province scope
    (row-level security's province policies; never another province). Industries and
    cities add up across cities; managers, areas and departments stay one city's each."""
    if actor.province_id is None:
        raise NotFound("province")
    require(actor, Action.STATISTICS_PROVINCE_READ, province_id=actor.province_id)
    start, end = _period(first, last)
    with use_scope(Scope.province(actor.province_id, actor.user_id)):
        rows = await BusinessRequest._meta.db.execute_query_dict(
            _sql(by, province=True), [start, end, clock.now()]
        )
    return [_row(r) for r in rows]
