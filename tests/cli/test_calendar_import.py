"""``hotline calendar import FILE``: one year's notice into the provinces, in one step,
run as the real command against the module's database and Redis."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

from hotline.platform.calendar import covered_years
from hotline.platform.settings import Settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.provinces.models import CalendarEntry, CalendarYear, Province

HOTLINE = Path(sys.executable).with_name("hotline")
YEAR = max(covered_years()) + 1


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HOTLINE), "calendar", "import", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def first_weekend_day(year: int, month: int) -> date:
    return next(date(year, month, d) for d in range(1, 8) if date(year, month, d).weekday() >= 5)


async def test_import_from_a_file(db: Settings, tmp_path: Path) -> None:
    with use_scope(Scope.platform()):
        shandong = await Province.create(code="370000", slug="shandong", name="山东省")
        jiangsu = await Province.create(code="320000", slug="jiangsu", name="江苏省")
    make_up = first_weekend_day(YEAR, 10)
    notice = {
        "year": YEAR,
        "holidays": [
            {"start": f"{YEAR}-01-01", "end": f"{YEAR}-01-03", "name": "元旦"},
            {"start": f"{YEAR}-05-01", "end": f"{YEAR}-05-05", "name": "劳动节"},
        ],
        "workdays": [{"day": make_up.isoformat(), "name": "国庆节调休"}],
    }
    bad = {**notice, "workdays": [{"day": f"{YEAR}-10-{make_up.day + 2:02d}", "name": "x"}]}
    bad_file = tmp_path / "bad.json"
    bad_file.write_text(json.dumps(bad, ensure_ascii=False), encoding="utf-8")
    refused = run(str(bad_file))
    assert refused.returncode != 0
    assert "INVALID (workdays[0].day)" in refused.stderr
    with use_scope(Scope.platform()):
        assert not await CalendarYear.filter(year=YEAR).exists()

    good = tmp_path / f"{YEAR}.json"
    good.write_text(json.dumps(notice, ensure_ascii=False), encoding="utf-8")
    unknown = run(str(good), "--province", "999999")
    assert unknown.returncode != 0
    assert "NOT_FOUND" in unknown.stderr

    done = run(str(good), "--province", "shandong")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        f"{YEAR}: 8 holiday dates, 1 make-up workdays -> province 370000 山东省 (0 recompute jobs)"
    )
    with use_scope(Scope.platform()):
        years = await CalendarYear.filter(year=YEAR).values_list("province_id", flat=True)
    assert years == [shandong.id]
    with use_scope(Scope.province(shandong.id)):
        rows = await CalendarEntry.filter(tenant_id=None, day__gte=date(YEAR, 1, 1)).order_by("day")
    assert [(r.day, r.kind) for r in rows if r.kind == "workday"] == [(make_up, "workday")]
    assert [r.day.isoformat() for r in rows if r.kind == "holiday"][:3] == [
        f"{YEAR}-01-01",
        f"{YEAR}-01-02",
        f"{YEAR}-01-03",
    ]
    with use_scope(Scope.province(jiangsu.id)):
        assert not await CalendarEntry.filter(day__gte=date(YEAR, 1, 1)).exists()

    # without --province: every province (shandong's second import changes nothing)
    everywhere = run(str(good))
    assert everywhere.returncode == 0, everywhere.stderr
    assert len(everywhere.stdout.splitlines()) == 2
    with use_scope(Scope.province(shandong.id)):
        again = await CalendarEntry.filter(tenant_id=None, day__gte=date(YEAR, 1, 1)).count()
    assert again == len(rows)
