"""The public page of a city in a real browser: headless Chromium (Debian's
``chromium``, the same DevTools driver as the GraphiQL test) opens ``/public/alpha`` in
zh-CN and in en from a running server, the two server-drawn SVG charts have their bars
laid out, and a screenshot of each chart shows the bars' colour (decoded with Pillow).
Screenshots are kept under ``.hotline/test-artifacts/``.

Skipped only when chromium is absent and ``CI`` is not set (``.ci/run`` installs it).
"""

from __future__ import annotations

import asyncio
import base64
import io
from collections.abc import AsyncIterator
from datetime import date

import pytest_asyncio
import uvicorn
from PIL import Image

from hotline.platform import clock
from hotline.platform.redis import close_redis
from hotline.platform.settings import Settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.schema.app import create_app
from hotline.schema.public import BAR, LINE
from hotline.tenants.provinces.models import Province
from hotline.tenants.statistics.models import PublishedMonth
from tests.browser.test_graphiql_browser import DevTools, _artifacts, browser
from tests.tickets_api.conftest import make_city

__all__ = ["browser"]  # the Chromium fixture, shared with the GraphiQL test

MONTHS = {  # month → (received, satisfaction rate)
    date(2026, 7, 1): (15200, 0.894),
    date(2026, 8, 1): (16900, 0.902),
    date(2026, 9, 1): (14100, 0.913),
    date(2026, 10, 1): (15800, 0.921),
}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def server(db: Settings) -> AsyncIterator[str]:
    with use_scope(Scope.platform()):
        province = await Province.create(code="370000", slug="shandong", name="Shandong")
    alpha = await make_city(province, "370100", "alpha")
    with use_scope(alpha.scope()):
        for month, (received, satisfaction) in MONTHS.items():
            await PublishedMonth.create(
                month=month,
                figures={"received": received, "satisfaction_rate": satisfaction},
                published_at=clock.now(),
            )
    config = uvicorn.Config(
        create_app(db, manage_orm=False),
        host="127.0.0.1",
        port=0,
        lifespan="off",
        log_level="warning",
        server_header=False,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 — uvicorn offers no event to wait on
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task
    await close_redis()


def _share_of(png: bytes, colour: str) -> float:
    """The share of the image's pixels close to ``colour`` (#rrggbb)."""
    want = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    image = Image.open(io.BytesIO(png)).convert("RGB")
    raw = image.tobytes()  # r, g, b, r, g, b, …
    pixels = len(raw) // 3
    near = sum(
        1 for i in range(0, len(raw), 3) if all(abs(raw[i + k] - want[k]) <= 24 for k in range(3))
    )
    return near / pixels


async def _chart_shot(browser: DevTools, index: int) -> bytes:
    box = await browser.evaluate(
        f"(r => [r.x, r.y, r.width, r.height])"
        f"(document.querySelectorAll('svg.chart')[{index}].getBoundingClientRect())"
    )
    x, y, width, height = box
    shot = await browser.call(
        "Page.captureScreenshot",
        format="png",
        clip={"x": x, "y": y, "width": width, "height": height, "scale": 1},
        captureBeyondViewport=True,
    )
    return base64.b64decode(shot["data"])


async def test_the_public_page_draws_its_charts(server: str, browser: DevTools) -> None:
    await browser.call("Page.enable")
    await browser.call("Runtime.enable")
    for lang, heading in (("zh-CN", "每月受理量"), ("en", "Requests received per month")):
        await browser.call("Page.navigate", url=f"{server}/public/alpha?lang={lang}")
        bars = await browser.wait_for(
            "document.querySelectorAll('svg.chart rect.bar').length", "the charts' bars"
        )
        assert bars == 2 * len(MONTHS)
        assert await browser.evaluate("document.documentElement.lang") == lang
        assert heading in await browser.evaluate("document.body.innerText")
        # every bar is laid out with a height, the tallest for the busiest month
        heights = await browser.evaluate(
            "[...document.querySelectorAll('svg.chart')[0].querySelectorAll('rect.bar')]"
            ".map(r => r.getBoundingClientRect().height)"
        )
        assert all(h > 0 for h in heights)
        assert heights.index(max(heights)) == 1  # August: 16,900
        # the screenshot of each chart shows its bars' colour
        for index, colour in ((0, BAR), (1, LINE)):
            png = await _chart_shot(browser, index)
            (_artifacts() / f"public-{lang}-chart{index}.png").write_bytes(png)
            assert _share_of(png, colour) > 0.05, (lang, index)
        page = await browser.call("Page.captureScreenshot", format="png")
        (_artifacts() / f"public-{lang}.png").write_bytes(base64.b64decode(page["data"]))
