"""Hot topics: the week's top categories and its rising terms against the week before
(docs/statistics.md, "Hot topics").

A week is seven city-local days ending on ``week_ending`` (default: today). Categories
are counted from the tickets received in each week. Terms come from the tickets'
content, segmented with jieba (the knowledge base's default dictionary, loaded once per
process): each term counts once per ticket (document frequency), so one long complaint
cannot make a topic. A term rises when it is in at least ``MIN_TICKETS`` tickets this
week; rising terms are ordered by the growth ``(this + 1) / (before + 1)``, then by this
week's count. At most ``MAX_TICKETS`` tickets a week are read (the most recent), which
bounds the cost of a query on a busy city.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from hotline.platform import clock
from hotline.platform.db.replica import read_connection
from hotline.tenants.kernel.access import Action, Actor, require
from hotline.tenants.kernel.errors import NotFound
from hotline.tenants.knowledge.segmentation import Tokenizer, base_tokenizer
from hotline.tenants.provinces.models import Tenant
from hotline.tenants.statistics.aggregates import day_bounds, local_day
from hotline.tenants.tickets.access import reading_paths

MAX_TICKETS = 20_000  # per week, the most recent
MIN_TICKETS = 3  # a rising term is in at least this many tickets of the week
_WORD = re.compile(r"^[\u4e00-\u9fffA-Za-z][\u4e00-\u9fffA-Za-z0-9]+$")
# Words every ticket has: they say nothing about its topic.
STOPWORDS = frozenset(
    {
        "市民",
        "反映",
        "来电",
        "咨询",
        "投诉",
        "希望",
        "要求",
        "问题",
        "情况",
        "相关",
        "部门",
        "处理",
        "解决",
        "目前",
        "现在",
        "已经",
        "没有",
        "一个",
        "什么",
        "怎么",
        "如何",
        "可以",
        "是否",
        "这个",
        "那个",
        "我们",
        "他们",
        "你们",
        "自己",
        "还是",
        "因为",
        "所以",
        "但是",
        "不是",
        "就是",
        "进行",
        "表示",
        "请求",
        "帮助",
        "协调",
        "尽快",
        "工作",
        "单位",
        "附近",
        "小区",
        "位置",
        "地址",
        "电话",
        "号码",
        "联系",
        "时间",
        "今天",
        "昨天",
        "每天",
        "一直",
        "多次",
        "导致",
        "影响",
        "存在",
        "发现",
        "出现",
        "需要",
        "造成",
        "称其",
    }
)


@dataclass(frozen=True)
class CategoryCount:
    category_id: int | None
    name: str
    count: int
    previous: int


@dataclass(frozen=True)
class TermCount:
    term: str
    count: int
    previous: int

    @property
    def growth(self) -> float:
        return (self.count + 1) / (self.previous + 1)


@dataclass(frozen=True)
class HotTopics:
    first: date
    last: date
    categories: list[CategoryCount]
    rising: list[TermCount]


def terms(tokenizer: Tokenizer, text: str) -> set[str]:
    """The distinct topic words of one text (two characters or more, no stopwords)."""
    return {w for w in tokenizer.cut(text) if _WORD.match(w) and w not in STOPWORDS}


def document_frequency(tokenizer: Tokenizer, texts: Iterable[str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(terms(tokenizer, text))
    return counts


def rising_terms(current: Counter[str], previous: Counter[str], limit: int) -> list[TermCount]:
    """Terms in at least MIN_TICKETS tickets now, by growth, then count, then the term."""
    found = [
        TermCount(term=t, count=n, previous=previous.get(t, 0))
        for t, n in current.items()
        if n >= MIN_TICKETS and n > previous.get(t, 0)
    ]
    found.sort(key=lambda c: (-c.growth, -c.count, c.term))
    return found[:limit]


_VISIBLE = (
    " AND t.id IN (SELECT a.ticket_id FROM assignments a JOIN departments d "
    "ON d.tenant_id = a.tenant_id AND d.id = a.department_id "
    "WHERE a.tenant_id = $1 AND d.path LIKE ANY ($4::text[]))"
)


def _where(paths: Sequence[str] | None) -> str:
    return "t.tenant_id = $1 AND t.received_at >= $2 AND t.received_at < $3" + (
        "" if paths is None else _VISIBLE
    )


async def _categories(
    tenant_id: int, start: datetime, end: datetime, paths: Sequence[str] | None
) -> dict[int | None, int]:
    params: list[Any] = [tenant_id, start, end]
    if paths is not None:
        params.append([f"{p}%" for p in paths])
    rows = await read_connection().execute_query_dict(
        f"SELECT t.category_id, count(*) AS n FROM tickets t WHERE {_where(paths)} GROUP BY 1",
        params,
    )
    return {r["category_id"]: r["n"] for r in rows}


async def _texts(
    tenant_id: int, start: datetime, end: datetime, paths: Sequence[str] | None
) -> list[str]:
    params: list[Any] = [tenant_id, start, end]
    if paths is not None:
        params.append([f"{p}%" for p in paths])
    rows = await read_connection().execute_query_dict(
        f"SELECT t.title || ' ' || t.content AS text FROM tickets t WHERE {_where(paths)} "
        f"ORDER BY t.received_at DESC LIMIT {MAX_TICKETS}",
        params,
    )
    return [r["text"] for r in rows]


async def hot_topics(
    *, actor: Actor, week_ending: date | None = None, limit: int = 10
) -> HotTopics:
    """The actor's city (a department role: its subtrees' tickets) for the week ending
    ``week_ending``; the caller has set the city's scope."""
    require(actor, Action.STATISTICS_READ)
    if actor.tenant_id is None:
        raise NotFound("city")
    paths = await reading_paths(actor)
    tenant = await Tenant.get(id=actor.tenant_id)
    zone = str(tenant.timezone)
    last = week_ending or local_day(clock.now(), zone)
    first = last - timedelta(days=6)
    start, end = day_bounds(first, last, zone)
    before_start, _ = day_bounds(first - timedelta(days=7), first, zone)
    now_counts = await _categories(tenant.id, start, end, paths)
    before_counts = await _categories(tenant.id, before_start, start, paths)
    names = {
        c["id"]: c["name"]
        for c in await read_connection().execute_query_dict(
            "SELECT id, name FROM categories WHERE tenant_id = $1", [tenant.id]
        )
    }
    categories = sorted(
        (
            CategoryCount(
                category_id=k,
                name=names.get(k, "") if k is not None else "",
                count=n,
                previous=before_counts.get(k, 0),
            )
            for k, n in now_counts.items()
        ),
        key=lambda c: (-c.count, c.name),
    )[:limit]
    tokenizer = await base_tokenizer()
    now_texts = await _texts(tenant.id, start, end, paths)
    before_texts = await _texts(tenant.id, before_start, start, paths)
    current, previous = await asyncio.gather(
        asyncio.to_thread(document_frequency, tokenizer, now_texts),
        asyncio.to_thread(document_frequency, tokenizer, before_texts),
    )
    return HotTopics(
        first=first,
        last=last,
        categories=categories,
        rising=rising_terms(current, previous, limit),
    )
