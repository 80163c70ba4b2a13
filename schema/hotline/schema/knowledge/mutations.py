from __future__ import annotations

from datetime import date

import strawberry
from strawberry import relay

from hotline.schema.context import Info
from hotline.schema.errors import Error, payload_errors
from hotline.schema.ids import decode_id, encode_id
from hotline.schema.knowledge.queries import province_arg
from hotline.schema.knowledge.types import Article, SynonymGroup
from hotline.tenants.knowledge import articles, search, synonyms


@strawberry.type
class ArticlePayload:
    article: Article | None
    errors: list[Error]


@strawberry.type
class DictionaryWordsPayload:
    words: list[str]
    errors: list[Error]


@strawberry.type
class SynonymGroupPayload:
    group: SynonymGroup | None
    errors: list[Error]


@strawberry.type
class DeleteSynonymGroupPayload:
    deleted_id: relay.GlobalID | None
    errors: list[Error]


@strawberry.input
class CreateArticleInput:
    title: str
    answer: str
    keywords: list[str] = strawberry.field(default_factory=list)
    tags: list[str] = strawberry.field(default_factory=list)
    department_id: relay.GlobalID | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    province_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Set (with no city selected) for a province-shared article."
    )


@strawberry.input(description="Omitted fields keep their value; null clears a date or department.")
class UpdateArticleInput:
    article_id: relay.GlobalID
    title: str | None = None
    answer: str | None = None
    keywords: list[str] | None = None
    tags: list[str] | None = None
    department_id: relay.GlobalID | None = strawberry.UNSET
    valid_from: date | None = strawberry.UNSET
    valid_until: date | None = strawberry.UNSET
    province_id: relay.GlobalID | None = None


def _keep_date(value: date | None) -> date | articles.Keep | None:
    return articles.KEEP if value is strawberry.UNSET else value


@strawberry.type
class KnowledgeMutations:
    @strawberry.mutation(description="A draft article (version 1).")
    async def create_article(self, info: Info, input: CreateArticleInput) -> ArticlePayload:
        async def call() -> Article:
            view = await articles.create_article(
                actor=info.context.actor,
                title=input.title,
                answer=input.answer,
                keywords=input.keywords,
                tags=input.tags,
                department_id=decode_id(input.department_id, "Department", field="departmentId")
                if input.department_id
                else None,
                valid_from=input.valid_from,
                valid_until=input.valid_until,
                province_id=province_arg(input.province_id),
            )
            return Article.from_view(view)

        article, errors = await payload_errors(call)
        return ArticlePayload(article=article, errors=errors)

    @strawberry.mutation(description="A new version; the published one stays live until publish.")
    async def update_article(self, info: Info, input: UpdateArticleInput) -> ArticlePayload:
        async def call() -> Article:
            department: int | articles.Keep | None = articles.KEEP
            if input.department_id is not strawberry.UNSET:
                department = (
                    decode_id(input.department_id, "Department", field="departmentId")
                    if input.department_id
                    else None
                )
            view = await articles.update_article(
                actor=info.context.actor,
                article_id=decode_id(input.article_id, "Article", field="articleId"),
                title=input.title,
                answer=input.answer,
                keywords=input.keywords,
                tags=input.tags,
                department_id=department,
                valid_from=_keep_date(input.valid_from),
                valid_until=_keep_date(input.valid_until),
                province_id=province_arg(input.province_id),
            )
            return Article.from_view(view)

        article, errors = await payload_errors(call)
        return ArticlePayload(article=article, errors=errors)

    @strawberry.mutation(description="Make the latest version live and searchable.")
    async def publish_article(
        self,
        info: Info,
        article_id: relay.GlobalID,
        province_id: relay.GlobalID | None = None,
    ) -> ArticlePayload:
        async def call() -> Article:
            view = await articles.publish_article(
                actor=info.context.actor,
                article_id=decode_id(article_id, "Article", field="articleId"),
                province_id=province_arg(province_id),
            )
            return Article.from_view(view)

        article, errors = await payload_errors(call)
        return ArticlePayload(article=article, errors=errors)

    @strawberry.mutation(description="Withdraw a published article.")
    async def unpublish_article(
        self,
        info: Info,
        article_id: relay.GlobalID,
        province_id: relay.GlobalID | None = None,
    ) -> ArticlePayload:
        async def call() -> Article:
            view = await articles.unpublish_article(
                actor=info.context.actor,
                article_id=decode_id(article_id, "Article", field="articleId"),
                province_id=province_arg(province_id),
            )
            return Article.from_view(view)

        article, errors = await payload_errors(call)
        return ArticlePayload(article=article, errors=errors)

    @strawberry.mutation(
        description="Add words (place names…) to the city's search dictionary; re-indexes."
    )
    async def add_dictionary_words(
        self, info: Info, words: list[str], freq: int | None = None
    ) -> DictionaryWordsPayload:
        async def call() -> list[str]:
            rows = await search.add_dictionary_words(
                actor=info.context.actor, words=words, freq=freq
            )
            return [r.word for r in rows]

        added, errors = await payload_errors(call)
        return DictionaryWordsPayload(words=added or [], errors=errors)

    @strawberry.mutation(
        description=(
            "A synonym group of the city's list, or (provinceId, no city selected) of the "
            "province's shared list; the articles it applies to are re-indexed."
        )
    )
    async def create_synonym_group(
        self, info: Info, terms: list[str], province_id: relay.GlobalID | None = None
    ) -> SynonymGroupPayload:
        async def call() -> SynonymGroup:
            view = await synonyms.create_synonym_group(
                actor=info.context.actor, terms=terms, province_id=province_arg(province_id)
            )
            return SynonymGroup.from_view(view)

        group, errors = await payload_errors(call)
        return SynonymGroupPayload(group=group, errors=errors)

    @strawberry.mutation(description="Replace a synonym group's words; re-indexes.")
    async def update_synonym_group(
        self,
        info: Info,
        id: relay.GlobalID,
        terms: list[str],
        province_id: relay.GlobalID | None = None,
    ) -> SynonymGroupPayload:
        async def call() -> SynonymGroup:
            view = await synonyms.update_synonym_group(
                actor=info.context.actor,
                group_id=decode_id(id, "SynonymGroup", field="id"),
                terms=terms,
                province_id=province_arg(province_id),
            )
            return SynonymGroup.from_view(view)

        group, errors = await payload_errors(call)
        return SynonymGroupPayload(group=group, errors=errors)

    @strawberry.mutation(description="Remove a synonym group; re-indexes.")
    async def delete_synonym_group(
        self, info: Info, id: relay.GlobalID, province_id: relay.GlobalID | None = None
    ) -> DeleteSynonymGroupPayload:
        async def call() -> relay.GlobalID:
            deleted = await synonyms.delete_synonym_group(
                actor=info.context.actor,
                group_id=decode_id(id, "SynonymGroup", field="id"),
                province_id=province_arg(province_id),
            )
            return encode_id("SynonymGroup", deleted)

        deleted_id, errors = await payload_errors(call)
        return DeleteSynonymGroupPayload(deleted_id=deleted_id, errors=errors)
