"""The worker's job: a ticket change marks its day dirty (in the change's transaction);
the job, run in the city's scope by ``tenant_job``, recomputes the day once it has
ended — and only then — and a second run finds nothing to do."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from hotline.platform.clock import travel
from hotline.platform.tenancy import use_scope
from hotline.tenants.statistics.models import DailyStat, DirtyDay
from hotline.workers.statistics import refresh_statistics
from tests.statistics.conftest import StatsWorld

SH = ZoneInfo("Asia/Shanghai")


async def test_a_change_reaches_the_aggregates_through_the_job(stats_world: StatsWorld) -> None:
    alpha, beta = stats_world.alpha.city, stats_world.beta.city
    with travel(datetime(2026, 5, 6, 10, tzinfo=SH)):
        ticket = await alpha.ticket()
        with use_scope(alpha.scope()):
            assert await DirtyDay.filter(day=date(2026, 5, 6)).exists()
        # the day has not ended: nothing is stored yet
        assert await refresh_statistics({}, tenant_id=alpha.id) == 0
    with travel(datetime(2026, 5, 7, 0, 5, tzinfo=SH)):
        assert await refresh_statistics({}, tenant_id=alpha.id) == 1
        assert await refresh_statistics({}, tenant_id=alpha.id) == 0
        assert await refresh_statistics({}, tenant_id=beta.id) == 0
    with use_scope(alpha.scope()):
        rows = await DailyStat.filter(day=date(2026, 5, 6)).values("received", "category_id")
        assert rows == [{"received": 1, "category_id": ticket.category_id}]
        assert not await DirtyDay.all().exists()
    with use_scope(beta.scope()):
        assert not await DailyStat.all().exists()
