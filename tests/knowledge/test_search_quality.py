"""Search quality on a labelled set of hotline questions (precision@1, recall@3).

The figures print with ``-s`` and are recorded in docs/knowledge.md; the floors are
what the current ranking reaches, so a change that makes search worse fails here.
"""

from __future__ import annotations

import json
from pathlib import Path

from hotline.platform.tenancy import use_scope
from hotline.tenants.knowledge import articles, search

from .conftest import World

DATA = json.loads((Path(__file__).parent / "data" / "labelled_questions.json").read_text("utf-8"))
P_AT_1_FLOOR = 0.85
R_AT_3_FLOOR = 0.95


async def test_precision_and_recall_on_labelled_questions(world: World) -> None:
    city = world.alpha
    admin = await world.actor(city.admin, city)
    agent = await world.actor(city.agent, city)
    ids: dict[int, str] = {}
    with use_scope(city.scope(city.admin)):
        for item in DATA["articles"]:
            view = await articles.create_article(
                actor=admin,
                title=item["title"],
                answer=item["answer"],
                keywords=item["keywords"],
                tags=item["tags"],
            )
            await articles.publish_article(actor=admin, article_id=view.article.id)
            ids[view.article.id] = item["key"]
    top1 = top3 = 0
    misses: list[str] = []
    with use_scope(city.scope(city.agent)):
        for question in DATA["questions"]:
            hits = await search.search_articles(actor=agent, text=question["q"], limit=3)
            found = [ids[h.article_id] for h in hits]
            top1 += bool(found) and found[0] == question["article"]
            top3 += question["article"] in found
            if not found or found[0] != question["article"]:
                misses.append(f"{question['q']} → {found} (want {question['article']})")
    total = len(DATA["questions"])
    p1, r3 = top1 / total, top3 / total
    print(f"\nknowledge search: {total} questions, {len(ids)} articles")
    print(f"precision@1 = {p1:.3f}  recall@3 = {r3:.3f}")
    print("\n".join(misses))
    assert p1 >= P_AT_1_FLOOR
    assert r3 >= R_AT_3_FLOOR
