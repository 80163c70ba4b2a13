"""The public page of a city, ``/public/<city slug>``: its published monthly figures as
SVG charts drawn here on the server, and its published cases — no login, no
JavaScript, zh-CN or en (``?lang=en``, else the browser's Accept-Language; docs/
statistics.md, "Public disclosure"). Every text is escaped; the data are the published
snapshots only."""

from __future__ import annotations

import html
from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from hotline.tenants.kernel.errors import NotFound
from hotline.tenants.statistics import disclosure
from hotline.tenants.statistics.models import PublishedCase, PublishedMonth

TEXTS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "title": "{city} 12345 热线公开数据",
        "received": "每月受理量（件）",
        "satisfaction": "每月满意率（%）",
        "table": "月度数据",
        "month": "月份",
        "received_col": "受理",
        "direct": "直接答复率",
        "replied": "按时答复率",
        "satisfaction_col": "满意率",
        "completion": "办结率",
        "connection": "接通率",
        "cases": "公开案例",
        "reply": "答复",
        "none": "暂无公开数据",
        "other": "English",
        "not_found": "未找到该城市",
    },
    "en": {
        "title": "{city} 12345 hotline: published figures",
        "received": "Requests received per month",
        "satisfaction": "Satisfaction rate per month (%)",
        "table": "Monthly figures",
        "month": "Month",
        "received_col": "Received",
        "direct": "Direct answers",
        "replied": "Replied on time",
        "satisfaction_col": "Satisfaction",
        "completion": "Completion",
        "connection": "Connection",
        "cases": "Published cases",
        "reply": "Reply",
        "none": "Nothing published yet",
        "other": "中文",
        "not_found": "No such city",
    },
}
# A published case's kind (a ticket's kind value), named in the page's language: a case
# without a title is headed by its kind.
KINDS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "consultation": "咨询",
        "complaint": "投诉",
        "help": "求助",
        "suggestion": "建议",
        "report": "举报",
        "praise": "表扬",
    },
    "en": {
        "consultation": "Consultation",
        "complaint": "Complaint",
        "help": "Request for help",
        "suggestion": "Suggestion",
        "report": "Report",
        "praise": "Praise",
    },
}
WIDTH, HEIGHT, PAD = 640, 240, 36
BAR = "#1f6fb2"
LINE = "#d9822b"


def language(request: Request) -> str:
    chosen = request.query_params.get("lang", "")
    if chosen in TEXTS:
        return chosen
    accepted = request.headers.get("accept-language", "").lower()
    return "zh-CN" if not accepted or accepted.startswith("zh") else "en"


def bar_chart(labels: Sequence[str], values: Sequence[float], *, title: str, color: str) -> str:
    """An SVG bar chart with its values written above the bars (no script, no font)."""
    e = html.escape
    top = max([*values, 1.0])
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD
    step = inner_w / max(len(values), 1)
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" '
        f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{e(title)}">',
        f"<title>{e(title)}</title>",
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" '
        'stroke="#888888" stroke-width="1"/>',
    ]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        h = inner_h * value / top
        x = PAD + i * step + step * 0.15
        w = step * 0.7
        y = HEIGHT - PAD - h
        shown = f"{value:,.1f}" if value % 1 else f"{int(value):,}"
        parts += [
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" '
            f'fill="{color}"><title>{e(label)}: {e(shown)}</title></rect>',
            f'<text x="{x + w / 2:.1f}" y="{y - 4:.1f}" font-size="11" '
            f'text-anchor="middle" fill="#333333">{e(shown)}</text>',
            f'<text x="{x + w / 2:.1f}" y="{HEIGHT - PAD + 16:.1f}" font-size="11" '
            f'text-anchor="middle" fill="#333333">{e(label)}</text>',
        ]
    parts.append("</svg>")
    return "".join(parts)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def render(
    city: str, months: Sequence[PublishedMonth], cases: Sequence[PublishedCase], lang: str
) -> str:
    t = TEXTS[lang]
    e = html.escape
    labels = [m.month.strftime("%Y-%m") for m in months]
    received = [float(m.figures.get("received") or 0) for m in months]
    satisfaction = [100 * float(m.figures.get("satisfaction_rate") or 0) for m in months]
    other = "en" if lang == "zh-CN" else "zh-CN"
    body = [f'<p><a href="?lang={other}">{t["other"]}</a></p>']
    if not months:
        body.append(f"<p>{t['none']}</p>")
    else:
        body += [
            f"<h2>{t['received']}</h2>",
            bar_chart(labels, received, title=t["received"], color=BAR),
            f"<h2>{t['satisfaction']}</h2>",
            bar_chart(labels, satisfaction, title=t["satisfaction"], color=LINE),
            f"<h2>{t['table']}</h2><table><tr>"
            + "".join(
                f"<th>{t[k]}</th>"
                for k in (
                    "month",
                    "received_col",
                    "direct",
                    "replied",
                    "satisfaction_col",
                    "completion",
                    "connection",
                )
            )
            + "</tr>",
        ]
        for label, m in zip(labels, months, strict=True):
            f = m.figures
            body.append(
                f"<tr><td>{label}</td><td>{int(f.get('received') or 0):,}</td>"
                + "".join(
                    f"<td>{_percent(f.get(k))}</td>"
                    for k in (
                        "direct_answer_rate",
                        "replied_on_time_rate",
                        "satisfaction_rate",
                        "completion_rate",
                        "connection_rate",
                    )
                )
                + "</tr>"
            )
        body.append("</table>")
    if cases:
        body.append(f"<h2>{t['cases']}</h2>")
        for c in cases:
            body.append(
                f'<article class="case"><h3>{e(c.month.strftime("%Y-%m"))} · '
                f"{e(c.category)} · {e(c.title or KINDS[lang].get(c.kind, c.kind))}</h3>"
                f"<p>{e(c.content)}</p>"
                + (f"<p><b>{t['reply']}:</b> {e(c.reply)}</p>" if c.reply else "")
                + "</article>"
            )
    title = t["title"].format(city=city)
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)}</title><style>body{{font-family:sans-serif;max-width:720px;"
        f"margin:2em auto;color:#222}}table{{border-collapse:collapse}}td,th{{border:1px "
        f"solid #ccc;padding:4px 8px;text-align:right}}.case{{border-top:1px solid #ddd}}"
        f"</style></head><body><h1>{e(title)}</h1>{''.join(body)}</body></html>"
    )


async def public_page(request: Request) -> HTMLResponse:
    lang = language(request)
    try:
        tenant = await disclosure.public_city(str(request.path_params["slug"]))
    except NotFound:
        return HTMLResponse(
            f'<!doctype html><html lang="{lang}"><meta charset="utf-8">'
            f"<p>{TEXTS[lang]['not_found']}</p></html>",
            status_code=404,
        )
    months = await disclosure.public_months(tenant)
    cases = await disclosure.public_cases(tenant)
    return HTMLResponse(
        render(tenant.name, months, cases, lang),
        headers={"cache-control": "public, max-age=300", "content-language": lang},
    )


def routes() -> list[Route]:
    return [Route("/public/{slug}", public_page, methods=["GET"])]
