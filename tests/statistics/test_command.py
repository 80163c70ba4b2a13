"""``hotline stats recompute``: the repair command, run as the real command against the
module's database (rows written straight into the tables are not events: the command
is how they reach the aggregates)."""

from __future__ import annotations

import secrets
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from hotline.platform.tenancy import use_scope
from hotline.tenants.statistics.models import DailyStat, DepartmentDay
from hotline.tenants.tickets.models import Ticket
from tests.statistics.conftest import StatsWorld

HOTLINE = Path(sys.executable).with_name("hotline")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HOTLINE), "stats", "recompute", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_recompute_a_range(stats_world: StatsWorld) -> None:
    alpha = stats_world.alpha.city
    with use_scope(alpha.scope()):
        for day in (2, 3, 3):
            await Ticket.create(
                number=f"AL{secrets.token_hex(4)}",
                query_code_hash="x",
                channel="phone",
                kind="complaint",
                content="路灯",
                received_at=datetime(2026, 3, day, 10, tzinfo=ZoneInfo("Asia/Shanghai")),
            )
        assert await DailyStat.all().count() == 0
    done = run("--city", "alpha", "--from", "2026-03-01", "--to", "2026-03-04")
    assert done.returncode == 0, done.stderr
    assert "4 days recomputed for alpha" in done.stdout
    with use_scope(alpha.scope()):
        rows = await DailyStat.all().values("day", "received")
        assert sorted((r["day"], r["received"]) for r in rows) == [
            (date(2026, 3, 2), 1),
            (date(2026, 3, 3), 2),
        ]
        assert await DepartmentDay.filter(department_id=None).count() == 2
    # again: nothing changes
    assert run("--city", "alpha", "--from", "2026-03-01", "--to", "2026-03-04").returncode == 0
    with use_scope(alpha.scope()):
        assert await DailyStat.all().count() == 2
    # bad input: a clear error, nothing written
    backwards = run("--city", "alpha", "--from", "2026-03-04", "--to", "2026-03-01")
    assert backwards.returncode != 0
    assert "INVALID" in backwards.stderr
    unknown = run("--city", "nowhere", "--from", "2026-03-01", "--to", "2026-03-02")
    assert unknown.returncode != 0
    assert "NOT_FOUND" in unknown.stderr
    assert run("--city", "alpha", "--from", "March", "--to", "2026-03-02").returncode != 0
    with use_scope(stats_world.beta.city.scope()):
        assert await DailyStat.all().count() == 0
