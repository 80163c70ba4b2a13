"""Chinese search: the live versions' vectors (jieba with the city's dictionary, synonyms
applied at index and query time) in a ``simple`` tsvector plus pg_trgm for fuzzy
matches; ties broken by relevance. City dictionaries and the tokenizer warm-up."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tortoise.transactions import in_transaction

from hotline.platform.db.replica import read_connection
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.kernel.access import Actor
from hotline.tenants.kernel.errors import Invalid
from hotline.tenants.knowledge import text as kbtext
from hotline.tenants.knowledge.indexing import reindex, synonym_groups, tokenizer_for
from hotline.tenants.knowledge.models import (
    DictionaryWord,
)
from hotline.tenants.knowledge.owners import (
    MAX_HITS,
    MAX_ITEM,
    MAX_QUERY,
    MAX_WORDS_PER_CALL,
    audit,
    city_today,
    owner_of,
)
from hotline.tenants.knowledge.segmentation import (
    base_tokenizer,
    cut_for_search,
)
from hotline.tenants.provinces.models import Tenant

# The score blends cover density (0..1, normalised) with title trigram similarity.
FUZZY_WEIGHT = 0.3


@dataclass(frozen=True)
class SearchHit:
    article_id: int
    version_id: int
    title: str
    snippet: str
    score: float
    shared: bool
    department_id: int | None


_SEARCH_SQL = """
SELECT v.article_id, v.id AS version_id, v.title, v.answer, v.tenant_id,
       a.department_id,
       {text_rank} + {fuzzy_weight} * similarity($1, v.title) AS score,
       {focus} AS focus
FROM knowledge_article_versions v
JOIN knowledge_articles a ON a.id = v.article_id
WHERE v.is_live
  AND (v.tenant_id = $2 OR (v.tenant_id IS NULL AND v.province_id = $3))
  AND (v.valid_from IS NULL OR v.valid_from <= $4)
  AND (v.valid_until IS NULL OR v.valid_until >= $4)
  AND ({matches} OR $1 % v.title)
ORDER BY score DESC, focus DESC, similarity($1, v.title) DESC, length(v.answer),
         v.article_id
LIMIT $5
"""


async def search_articles(*, actor: Actor, text: str, limit: int = 10) -> list[SearchHit]:
    """Published, valid articles of the current city and its province, best first.

    The question is segmented with the city's dictionary; any of its terms may match
    (callers rarely use an article's exact words), and so may the synonyms of what it
    says (the city's and the province's groups); the rank blends ``ts_rank_cd`` with
    trigram similarity of the title, which also catches near-miss wording. Equal scores
    are ordered by relevance still: the share of the article about the question
    (``ts_rank`` divided by the article's length), the title's similarity, the shorter
    answer; the id only when all of these are equal.
    """
    owner = owner_of(actor, None, write=False)
    query = kbtext.normalize(text).strip()
    if not 1 <= len(query) <= MAX_QUERY:
        raise Invalid("a search has 1 to {max} characters", field="text", max=MAX_QUERY)
    if not 1 <= limit <= MAX_HITS:
        raise Invalid("limit must be between 1 and {max}", field="first", max=MAX_HITS)
    with use_scope(owner.scope):
        tokenizer = await tokenizer_for(owner.tenant_id)
        words = kbtext.terms(cut_for_search(tokenizer, query))
        query_terms = kbtext.terms([*words, *kbtext.bigrams(query)])
        synonyms = kbtext.synonyms_in(
            query, await synonym_groups(owner.tenant_id, owner.province_id)
        )
        tsquery = kbtext.tsquery_with_alternatives(
            query_terms,
            [alt for word in synonyms for alt in ([word], kbtext.terms(tokenizer.cut(word)))],
        )
        words = [*words, *synonyms]
        params: list[Any] = [query, owner.tenant_id, owner.province_id, await city_today(owner)]
        if tsquery is None:
            sql = _SEARCH_SQL.format(text_rank="0", fuzzy_weight="1", matches="false", focus="0")
        else:
            sql = _SEARCH_SQL.format(
                text_rank="ts_rank_cd(v.search_vector, $6::tsquery, 32)",
                fuzzy_weight=FUZZY_WEIGHT,
                matches="v.search_vector @@ $6::tsquery",
                focus="ts_rank(v.search_vector, $6::tsquery, 1)",
            )
        rows = await read_connection().execute_query_dict(
            sql, [*params, limit, *([tsquery] if tsquery else [])]
        )
    return [
        SearchHit(
            article_id=row["article_id"],
            version_id=row["version_id"],
            title=row["title"],
            snippet=kbtext.snippet(row["answer"], words or query_terms),
            score=round(float(row["score"]), 4),
            shared=row["tenant_id"] is None,
            department_id=row["department_id"],
        )
        for row in rows
    ]


async def segment(*, actor: Actor, text: str) -> list[str]:
    """How the current city's dictionary splits ``text`` for search (a manager's preview)."""
    owner = owner_of(actor, None, write=False)
    with use_scope(owner.scope):
        return cut_for_search(await tokenizer_for(owner.tenant_id), kbtext.normalize(text))


async def add_dictionary_words(
    *, actor: Actor, words: Sequence[str], freq: int | None = None
) -> list[DictionaryWord]:
    """Add words (place names…) to the city's dictionary and re-index its live articles."""
    owner = owner_of(actor, None, write=True)
    clean = list(dict.fromkeys(kbtext.normalize(w).strip() for w in words))
    if not clean or len(clean) > MAX_WORDS_PER_CALL:
        raise Invalid("give 1 to {max} words", field="words", max=MAX_WORDS_PER_CALL)
    for word in clean:
        if not 2 <= len(word) <= MAX_ITEM or any(ch.isspace() for ch in word):
            raise Invalid(
                "a word has 2 to {max} characters, no spaces", field="words", max=MAX_ITEM
            )
    if freq is not None and not 1 <= freq <= 1_000_000:
        raise Invalid("freq must be between 1 and 1000000", field="freq")
    with use_scope(owner.scope):
        async with in_transaction("default"):
            await DictionaryWord.bulk_create(
                [DictionaryWord(word=w, freq=freq) for w in clean], ignore_conflicts=True
            )
        await reindex(owner.province_id, tenant_id=owner.tenant_id)
        rows = await DictionaryWord.filter(word__in=clean).order_by("id")
    await audit(actor, owner, "knowledge.dictionary_add", f"{len(clean)} words")
    return rows


async def list_dictionary_words(*, actor: Actor) -> list[DictionaryWord]:
    owner = owner_of(actor, None, write=False)
    with use_scope(owner.scope):
        return await DictionaryWord.all().order_by("word")


async def warm_tokenizers() -> int:
    """Load jieba's dictionary and every active city's own (process start): the first
    search then costs a query, not seconds. Answers how many city dictionaries loaded."""
    await base_tokenizer()
    with use_scope(Scope.platform()):
        cities = await Tenant.filter(is_active=True).order_by("id")
    loaded = 0
    for city in cities:
        with use_scope(Scope.city(city.id, city.province_id)):
            loaded += (await tokenizer_for(city.id)) is not await base_tokenizer()
    return loaded
