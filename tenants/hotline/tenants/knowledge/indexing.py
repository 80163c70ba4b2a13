"""Search vectors: the tokenizer of a city (jieba with its dictionary), synonym groups
applied at index time, writing a live version's vector, and re-indexing after a list
changes. Used by articles (on publish), search and synonyms."""

from __future__ import annotations

import json
from collections.abc import Sequence

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.knowledge import text as kbtext
from hotline.tenants.knowledge.models import (
    ArticleVersion,
    DictionaryWord,
)
from hotline.tenants.knowledge.segmentation import (
    Tokenizer,
    base_tokenizer,
    city_tokenizer,
    cut_for_search,
)

# The score blends cover density (0..1, normalised) with title trigram similarity.
FUZZY_WEIGHT = 0.3


async def synonym_groups(tenant_id: int | None, province_id: int) -> list[list[str]]:
    """The groups that apply to a city's text (its own and the province's), or to the
    province's shared articles (``tenant_id`` None: the province's only)."""
    rows = await connections.get("default").execute_query_dict(
        "SELECT terms FROM knowledge_synonym_groups WHERE province_id = $2 "
        "AND (tenant_id IS NULL OR tenant_id = $1) ORDER BY id",
        [tenant_id, province_id],
    )
    out: list[list[str]] = []
    for row in rows:
        terms = row["terms"]
        out.append(json.loads(terms) if isinstance(terms, str) else list(terms))
    return out


async def tokenizer_for(tenant_id: int | None) -> Tokenizer:
    """The city's tokenizer (province-shared articles use the default dictionary)."""
    if tenant_id is None:
        return await base_tokenizer()
    conn = connections.get("default")
    row = (
        await conn.execute_query_dict(
            "SELECT count(*) AS n, coalesce(max(id), 0) AS newest "
            "FROM knowledge_dictionary_words WHERE tenant_id = $1",
            [tenant_id],
        )
    )[0]

    async def load() -> list[tuple[str, int | None]]:
        rows = await DictionaryWord.filter(tenant_id=tenant_id).order_by("id")
        return [(r.word, r.freq) for r in rows]

    return await city_tokenizer(tenant_id, (int(row["n"]), int(row["newest"])), load)


def index_vector(
    tokenizer: Tokenizer, version: ArticleVersion, synonyms: Sequence[Sequence[str]] = ()
) -> str:
    """The weighted tsvector literal of a version: title and keywords weigh most. The
    synonyms of what a field says are indexed with the field's weight."""

    def cut(value: str) -> list[str]:
        text = kbtext.normalize(value)
        return [*cut_for_search(tokenizer, text), *kbtext.synonyms_in(text, synonyms)]

    keywords = [t for k in version.keywords for t in [kbtext.normalize(k), *cut(k)]]
    tags = [t for k in version.tags for t in [kbtext.normalize(k), *cut(k)]]
    return kbtext.tsvector_literal(
        [
            (cut(version.title), "A"),
            (keywords, "A"),
            (tags, "B"),
            (kbtext.bigrams(kbtext.normalize(version.title)), "C"),
            (cut(version.answer), "D"),
        ]
    )


async def write_vector(
    conn: BaseDBAsyncClient,
    tokenizer: Tokenizer,
    synonyms: Sequence[Sequence[str]],
    version: ArticleVersion,
    *,
    live: bool,
) -> None:
    await conn.execute_query(
        "UPDATE knowledge_article_versions SET search_vector = $1::tsvector, is_live = $2 "
        "WHERE id = $3",
        [index_vector(tokenizer, version, synonyms), live, version.id],
    )


async def reindex(province_id: int, *, tenant_id: int | None) -> None:
    """Rewrite the search vectors a list change affects: one city's live articles; or,
    for the province's list, the shared ones and those of every city of the province,
    each in its own scope with its own dictionary and groups."""
    query = ArticleVersion.filter(is_live=True, province_id=province_id)
    if tenant_id is not None:
        query = query.filter(tenant_id=tenant_id)
    by_owner: dict[int | None, list[ArticleVersion]] = {}
    for version in await query.order_by("id"):
        by_owner.setdefault(version.tenant_id, []).append(version)
    for owner, versions in by_owner.items():
        scope = Scope.province(province_id) if owner is None else Scope.city(owner, province_id)
        with use_scope(scope):
            tokenizer = await tokenizer_for(owner)
            synonyms = await synonym_groups(owner, province_id)
            async with in_transaction("default") as conn:
                for version in versions:
                    await write_vector(conn, tokenizer, synonyms, version, live=True)
