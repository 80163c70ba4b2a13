from __future__ import annotations

import strawberry
from strawberry import relay

from hotline.schema.context import Info
from hotline.schema.ids import decode_id
from hotline.schema.knowledge.types import Article, ArticleStatus, KnowledgeHit, SynonymGroup
from hotline.schema.pagination import Connection, build_connection, decode_cursor, page_size
from hotline.schema.permissions import can, signed_in
from hotline.tenants.kernel.access import Action
from hotline.tenants.knowledge import articles, search, synonyms


def province_arg(province_id: relay.GlobalID | None) -> int | None:
    return decode_id(province_id, "Province", field="provinceId") if province_id else None


@strawberry.type
class KnowledgeQueries:
    @strawberry.field(
        permission_classes=[can(Action.KNOWLEDGE_READ)],
        description=(
            "Published, valid articles of the current city and its province that match a "
            "caller's words (Chinese segmented with the city's dictionary), best first."
        ),
    )
    async def knowledge_search(
        self, info: Info, text: str, first: int | None = None
    ) -> list[KnowledgeHit]:
        hits = await search.search_articles(
            actor=info.context.actor, text=text, limit=10 if first is None else first
        )
        return [KnowledgeHit.from_hit(h) for h in hits]

    @strawberry.field(
        permission_classes=[signed_in],
        description="An article of the current city or its province (provinceId: shared only).",
    )
    async def article(
        self, info: Info, id: relay.GlobalID, province_id: relay.GlobalID | None = None
    ) -> Article:
        view = await articles.access_article(
            actor=info.context.actor,
            article_id=decode_id(id, "Article", field="id"),
            province_id=province_arg(province_id),
        )
        return Article.from_view(view)

    @strawberry.field(
        permission_classes=[signed_in],
        description=(
            "The city's articles and its province's shared ones (readers: published only); "
            "with provinceId and no city selected, the province's shared articles."
        ),
    )
    async def articles(
        self,
        info: Info,
        status: ArticleStatus | None = None,
        department_id: relay.GlobalID | None = None,
        shared: bool | None = None,
        province_id: relay.GlobalID | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Article]:
        size = page_size(first)
        rows = await articles.list_articles(
            actor=info.context.actor,
            province_id=province_arg(province_id),
            status=status,
            department_id=decode_id(department_id, "Department", field="departmentId")
            if department_id
            else None,
            shared=shared,
            limit=size + 1,
            after_id=decode_cursor(after),
        )
        return build_connection(rows, size, lambda v: v.article.id, Article.from_view, after=after)

    @strawberry.field(
        permission_classes=[signed_in],
        description=(
            "The synonym groups search applies in the current city: its own and its "
            "province's shared ones; with provinceId and no city selected, the province's."
        ),
    )
    async def synonym_groups(
        self, info: Info, province_id: relay.GlobalID | None = None
    ) -> list[SynonymGroup]:
        rows = await synonyms.list_synonym_groups(
            actor=info.context.actor, province_id=province_arg(province_id)
        )
        return [SynonymGroup.from_view(r) for r in rows]
