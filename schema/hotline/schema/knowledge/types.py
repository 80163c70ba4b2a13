from __future__ import annotations

from datetime import date, datetime
from typing import Self

import strawberry
from strawberry import relay

from hotline.schema.context import Info
from hotline.schema.departments.types import Department, load_departments
from hotline.schema.ids import encode_id
from hotline.schema.loaders import loader
from hotline.tenants.kernel.errors import NotFound
from hotline.tenants.knowledge import articles, models, search, synonyms

ArticleStatus = models.ArticleStatus
strawberry.enum(models.ArticleStatus, name="ArticleStatus")


@strawberry.type(description="One immutable edit of an article.")
class ArticleVersion:
    number: int
    title: str
    answer: str
    keywords: list[str]
    tags: list[str]
    valid_from: date | None
    valid_until: date | None
    is_live: bool
    created_at: datetime

    @classmethod
    def from_model(cls, row: models.ArticleVersion) -> Self:
        return cls(
            number=row.number,
            title=row.title,
            answer=row.answer,
            keywords=list(row.keywords),
            tags=list(row.tags),
            valid_from=row.valid_from,
            valid_until=row.valid_until,
            is_live=row.is_live,
            created_at=row.created_at,
        )


@strawberry.type(
    description=(
        "A knowledge article: the city's own, or shared by the province (shared = true). "
        "title and answer are the published version's, or the latest draft's if unpublished."
    )
)
class Article(relay.Node):
    id: relay.NodeID[int]
    status: ArticleStatus
    shared: bool
    title: str
    answer: str
    latest: ArticleVersion
    published: ArticleVersion | None
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime
    department_id: strawberry.Private[int | None]
    province_id: strawberry.Private[int]

    @classmethod
    def from_view(cls, view: articles.ArticleView) -> Self:
        row = view.article
        return cls(
            id=row.id,
            status=row.status,
            shared=row.tenant_id is None,
            title=view.current.title,
            answer=view.current.answer,
            latest=ArticleVersion.from_model(view.latest),
            published=ArticleVersion.from_model(view.published) if view.published else None,
            published_at=row.published_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
            department_id=row.department_id,
            province_id=row.province_id,
        )

    @strawberry.field(description="The department whose standard answer this is.")
    async def department(self, info: Info) -> Department | None:
        if self.department_id is None:
            return None
        row = await loader(info, "department", load_departments).load(self.department_id)
        return Department.from_model(row) if row else None

    @strawberry.field(description="Every version, newest first (knowledge managers only).")
    async def versions(self, info: Info) -> list[ArticleVersion]:
        actor = info.context.actor
        rows = await articles.list_versions(
            actor=actor,
            article_id=self.id,
            province_id=self.province_id if actor.tenant_id is None else None,
        )
        return [ArticleVersion.from_model(r) for r in rows]

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: list[str], required: bool = False
    ) -> list[Article | None]:
        out: list[Article | None] = []
        for key in node_ids:
            try:
                view = await articles.access_article(actor=info.context.actor, article_id=int(key))
            except (NotFound, ValueError):
                out.append(None)
            else:
                out.append(cls.from_view(view))
        return out


@strawberry.type(description="A search result: the article, a score and a highlighted extract.")
class KnowledgeHit:
    article_id: relay.GlobalID
    title: str
    snippet: str = strawberry.field(description="HTML-escaped; matches wrapped in <mark>.")
    score: float
    shared: bool

    @classmethod
    def from_hit(cls, hit: search.SearchHit) -> Self:
        return cls(
            article_id=encode_id("Article", hit.article_id),
            title=hit.title,
            snippet=hit.snippet,
            score=hit.score,
            shared=hit.shared,
        )


@strawberry.type(
    description=(
        "Words callers and articles use for the same thing (户口, 户籍), applied when "
        "articles are indexed and when a search runs: the city's own group, or one shared "
        "by every city of the province (shared = true)."
    )
)
class SynonymGroup:
    id: relay.GlobalID
    terms: list[str]
    shared: bool
    updated_at: datetime

    @classmethod
    def from_view(cls, view: synonyms.SynonymView) -> Self:
        return cls(
            id=encode_id("SynonymGroup", view.group.id),
            terms=list(view.group.terms),
            shared=view.shared,
            updated_at=view.group.updated_at,
        )
