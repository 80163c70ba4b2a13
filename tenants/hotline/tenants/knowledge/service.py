"""The knowledge base: articles, versions, publishing, Chinese search, city dictionaries.

City articles are managed in the city (``knowledge.manage``); province-shared ones
(``tenant_id`` NULL) with ``province_id`` and no city selected, by province admins
(``knowledge.shared_manage``). Every city of the province reads and searches the
shared ones; readers see published articles only. An edit makes a new version; the
published version stays live (shown and searched) until the article is published
again. The live version's search vector is written here, on publish, segmented with
the city's dictionary (see ``segmentation.py`` and ``text.py``).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.access import Action, Actor, allowed, require
from hotline.tenants.accounts.audit import record_audit
from hotline.tenants.departments.models import Department
from hotline.tenants.errors import Invalid, NotFound, PermissionDenied
from hotline.tenants.knowledge import text as kbtext
from hotline.tenants.knowledge.models import (
    Article,
    ArticleStatus,
    ArticleVersion,
    DictionaryWord,
)
from hotline.tenants.knowledge.segmentation import (
    Tokenizer,
    base_tokenizer,
    city_tokenizer,
    cut_for_search,
)
from hotline.tenants.provinces.models import Tenant

MAX_TITLE = 200
MAX_ANSWER = 20_000
MAX_LIST_ITEMS = 30
MAX_ITEM = 40
MAX_QUERY = 200
MAX_HITS = 50
MAX_WORDS_PER_CALL = 500
# The score blends cover density (0..1, normalised) with title trigram similarity.
FUZZY_WEIGHT = 0.3


class Keep(enum.Enum):
    """``update_article``'s "leave this field as it is" for fields that may be set to None."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass(frozen=True)
class ArticleView:
    """An article with the versions a caller sees: the latest edit and the live one."""

    article: Article
    latest: ArticleVersion
    published: ArticleVersion | None

    @property
    def current(self) -> ArticleVersion:
        return self.published or self.latest


@dataclass(frozen=True)
class SearchHit:
    article_id: int
    version_id: int
    title: str
    snippet: str
    score: float
    shared: bool
    department_id: int | None


@dataclass(frozen=True)
class _Owner:
    """Where an operation runs: a city (tenant_id set) or a province's shared articles."""

    tenant_id: int | None
    province_id: int
    scope: Scope
    manage: bool  # may see drafts and write

    def visible(self) -> Q:
        shared = Q(tenant_id=None, province_id=self.province_id)
        return shared if self.tenant_id is None else Q(tenant_id=self.tenant_id) | shared


def _owner(actor: Actor, province_id: int | None, *, write: bool) -> _Owner:
    if province_id is None:
        require(actor, Action.KNOWLEDGE_MANAGE if write else Action.KNOWLEDGE_READ)
        if actor.tenant_id is None or actor.province_id is None:
            raise Invalid("select a city, or give provinceId for shared articles")
        return _Owner(
            tenant_id=actor.tenant_id,
            province_id=actor.province_id,
            scope=Scope.city(actor.tenant_id, actor.province_id, actor.user_id),
            manage=allowed(actor, Action.KNOWLEDGE_MANAGE),
        )
    action = Action.KNOWLEDGE_SHARED_MANAGE if write else Action.KNOWLEDGE_READ
    require(actor, action, province_id=province_id)
    if actor.tenant_id is not None:
        raise Invalid(
            "province-shared articles are managed with no city selected", field="provinceId"
        )
    return _Owner(
        tenant_id=None,
        province_id=province_id,
        scope=Scope.province(province_id, actor.user_id),
        manage=allowed(actor, Action.KNOWLEDGE_SHARED_MANAGE, province_id=province_id),
    )


def _items(values: Sequence[str], field: str) -> list[str]:
    items = list(dict.fromkeys(v.strip() for v in values if v.strip()))
    if len(items) > MAX_LIST_ITEMS or any(len(v) > MAX_ITEM for v in items):
        raise Invalid(
            "at most {max} items of {length} characters",
            field=field,
            max=MAX_LIST_ITEMS,
            length=MAX_ITEM,
        )
    return items


def _content(
    *,
    title: str,
    answer: str,
    keywords: Sequence[str],
    tags: Sequence[str],
    valid_from: date | None,
    valid_until: date | None,
) -> dict[str, Any]:
    title, answer = title.strip(), answer.strip()
    if not 1 <= len(title) <= MAX_TITLE:
        raise Invalid("a title has 1 to {max} characters", field="title", max=MAX_TITLE)
    if not 1 <= len(answer) <= MAX_ANSWER:
        raise Invalid("an answer has 1 to {max} characters", field="answer", max=MAX_ANSWER)
    if valid_from and valid_until and valid_until < valid_from:
        raise Invalid("validity ends before it starts", field="validUntil")
    return {
        "title": title,
        "answer": answer,
        "keywords": _items(keywords, "keywords"),
        "tags": _items(tags, "tags"),
        "valid_from": valid_from,
        "valid_until": valid_until,
    }


async def _check_department(owner: _Owner, department_id: int | None) -> None:
    if department_id is None:
        return
    if owner.tenant_id is None:
        raise Invalid("shared articles belong to no department", field="departmentId")
    if not await Department.exists(id=department_id):
        raise NotFound("department", field="departmentId")


async def _views(articles: Sequence[Article]) -> list[ArticleView]:
    """The latest and live versions of many articles in one query."""
    if not articles:
        return []
    published = [a.published_version_id for a in articles if a.published_version_id]
    versions = await ArticleVersion.filter(
        Q(id__in=published)
        | Q(
            article_id__in=[a.id for a in articles],
            number__in={a.latest_version for a in articles},
        )
    )
    by_id = {v.id: v for v in versions}
    by_number = {(v.article_id, v.number): v for v in versions}
    return [
        ArticleView(
            article=a,
            latest=by_number[(a.id, a.latest_version)],
            published=by_id.get(a.published_version_id) if a.published_version_id else None,
        )
        for a in articles
    ]


async def _visible(owner: _Owner, article_id: int) -> Article:
    article = await Article.filter(owner.visible(), id=article_id).first()
    if article is None or (not owner.manage and article.status is not ArticleStatus.PUBLISHED):
        raise NotFound("article", field="articleId")
    return article


async def _locked(owner: _Owner, article_id: int) -> Article:
    """The article to write, locked; another owner's (shared, seen from a city) is refused.

    The visibility check comes first: the row lock needs the write policy, which a
    city does not hold on its province's shared rows.
    """
    seen = await Article.filter(owner.visible(), id=article_id).first()
    if seen is None:
        raise NotFound("article", field="articleId")
    if seen.tenant_id != owner.tenant_id:
        raise PermissionDenied("province-shared articles are managed by the province")
    article = await Article.filter(id=article_id).select_for_update().first()
    if article is None:
        raise NotFound("article", field="articleId")
    return article


async def access_article(
    *, actor: Actor, article_id: int, province_id: int | None = None
) -> ArticleView:
    """A visible article (own city's or the province's shared), or NotFound."""
    owner = _owner(actor, province_id, write=False)
    with use_scope(owner.scope):
        return (await _views([await _visible(owner, article_id)]))[0]


async def list_articles(
    *,
    actor: Actor,
    province_id: int | None = None,
    status: ArticleStatus | None = None,
    department_id: int | None = None,
    shared: bool | None = None,
    limit: int = 50,
    after_id: int | None = None,
) -> list[ArticleView]:
    """The city's and the province's shared articles (readers: published only), by id."""
    owner = _owner(actor, province_id, write=False)
    with use_scope(owner.scope):
        query = Article.filter(owner.visible())
        if not owner.manage:
            query = query.filter(status=ArticleStatus.PUBLISHED)
        if status is not None:
            query = query.filter(status=status)
        if department_id is not None:
            query = query.filter(department_id=department_id)
        if shared is not None:
            query = query.filter(tenant_id__isnull=shared)
        if after_id is not None:
            query = query.filter(id__gt=after_id)
        return await _views(await query.order_by("id").limit(limit))


async def list_versions(
    *, actor: Actor, article_id: int, province_id: int | None = None
) -> list[ArticleVersion]:
    """Every version of an article, newest first (managers only)."""
    owner = _owner(actor, province_id, write=False)
    with use_scope(owner.scope):
        article = await _visible(owner, article_id)
        if not owner.manage:
            raise PermissionDenied("knowledge.manage is not allowed")
        return await ArticleVersion.filter(article_id=article.id).order_by("-number")


async def create_article(
    *,
    actor: Actor,
    title: str,
    answer: str,
    keywords: Sequence[str] = (),
    tags: Sequence[str] = (),
    department_id: int | None = None,
    valid_from: date | None = None,
    valid_until: date | None = None,
    province_id: int | None = None,
) -> ArticleView:
    """A draft article with its first version; ``province_id`` makes it province-shared."""
    owner = _owner(actor, province_id, write=True)
    content = _content(
        title=title,
        answer=answer,
        keywords=keywords,
        tags=tags,
        valid_from=valid_from,
        valid_until=valid_until,
    )
    with use_scope(owner.scope):
        await _check_department(owner, department_id)
        async with in_transaction():
            article = await Article.create(
                province_id=owner.province_id,
                tenant_id=owner.tenant_id,
                department_id=department_id,
                latest_version=1,
                created_by_id=actor.user_id,
            )
            version = await ArticleVersion.create(
                province_id=owner.province_id,
                tenant_id=owner.tenant_id,
                article=article,
                number=1,
                author_id=actor.user_id,
                **content,
            )
    await _audit(actor, owner, "knowledge.article_create", article.id)
    return ArticleView(article=article, latest=version, published=None)


async def update_article(
    *,
    actor: Actor,
    article_id: int,
    title: str | None = None,
    answer: str | None = None,
    keywords: Sequence[str] | None = None,
    tags: Sequence[str] | None = None,
    valid_from: date | Keep | None = KEEP,
    valid_until: date | Keep | None = KEEP,
    department_id: int | Keep | None = KEEP,
    province_id: int | None = None,
) -> ArticleView:
    """A new version from the latest one with the given changes; the live one stays live."""
    owner = _owner(actor, province_id, write=True)
    with use_scope(owner.scope):
        if not isinstance(department_id, Keep):
            await _check_department(owner, department_id)
        async with in_transaction():
            article = await _locked(owner, article_id)
            latest = await ArticleVersion.get(article_id=article.id, number=article.latest_version)
            content = _content(
                title=latest.title if title is None else title,
                answer=latest.answer if answer is None else answer,
                keywords=latest.keywords if keywords is None else keywords,
                tags=latest.tags if tags is None else tags,
                valid_from=latest.valid_from if isinstance(valid_from, Keep) else valid_from,
                valid_until=latest.valid_until if isinstance(valid_until, Keep) else valid_until,
            )
            same_content = all(getattr(latest, k) == v for k, v in content.items())
            new_department = (
                article.department_id if isinstance(department_id, Keep) else department_id
            )
            if same_content and new_department == article.department_id:
                return (await _views([article]))[0]
            if not same_content:
                latest = await ArticleVersion.create(
                    province_id=article.province_id,
                    tenant_id=article.tenant_id,
                    article=article,
                    number=article.latest_version + 1,
                    author_id=actor.user_id,
                    **content,
                )
                article.latest_version = latest.number
            article.department_id = new_department
            await article.save(update_fields=["latest_version", "department_id", "updated_at"])
            view = (await _views([article]))[0]
    await _audit(actor, owner, "knowledge.article_update", article.id)
    return view


async def publish_article(
    *, actor: Actor, article_id: int, province_id: int | None = None
) -> ArticleView:
    """Make the latest version live and searchable (again, after an edit)."""
    owner = _owner(actor, province_id, write=True)
    with use_scope(owner.scope):
        tokenizer = await _tokenizer(owner.tenant_id)
        async with in_transaction() as conn:
            article = await _locked(owner, article_id)
            latest = await ArticleVersion.get(article_id=article.id, number=article.latest_version)
            if article.published_version_id != latest.id:
                await ArticleVersion.filter(article_id=article.id, is_live=True).update(
                    is_live=False
                )
                await _write_vector(conn, tokenizer, latest, live=True)
            article.status = ArticleStatus.PUBLISHED
            article.published_version_id = latest.id
            article.published_at = datetime.now(UTC)
            await article.save(
                update_fields=["status", "published_version_id", "published_at", "updated_at"]
            )
            view = (await _views([article]))[0]
    await _audit(actor, owner, "knowledge.article_publish", article.id)
    return view


async def unpublish_article(
    *, actor: Actor, article_id: int, province_id: int | None = None
) -> ArticleView:
    """Withdraw a published article: it no longer shows or matches; its versions stay."""
    owner = _owner(actor, province_id, write=True)
    with use_scope(owner.scope):
        async with in_transaction():
            article = await _locked(owner, article_id)
            if article.status is not ArticleStatus.PUBLISHED:
                raise Invalid("the article is not published", field="articleId")
            await ArticleVersion.filter(article_id=article.id, is_live=True).update(is_live=False)
            article.status = ArticleStatus.UNPUBLISHED
            article.published_version_id = None
            await article.save(update_fields=["status", "published_version_id", "updated_at"])
            view = (await _views([article]))[0]
    await _audit(actor, owner, "knowledge.article_unpublish", article.id)
    return view


async def article_answer(*, actor: Actor, article_id: int) -> tuple[int, str]:
    """For "answer directly from an article": the live answer of a published, valid
    article visible in the current city; NotFound otherwise (Invalid when expired)."""
    owner = _owner(actor, None, write=False)
    with use_scope(owner.scope):
        article = await Article.filter(
            owner.visible(), id=article_id, status=ArticleStatus.PUBLISHED
        ).first()
        if article is None or article.published_version_id is None:
            raise NotFound("article", field="articleId")
        version = await ArticleVersion.get(id=article.published_version_id)
        today = await _city_today(owner)
        if not _valid_on(version, today):
            raise Invalid("the article is not valid today", field="articleId")
    return article.id, version.answer


def _valid_on(version: ArticleVersion, day: date) -> bool:
    return (version.valid_from is None or version.valid_from <= day) and (
        version.valid_until is None or version.valid_until >= day
    )


async def _city_today(owner: _Owner) -> date:
    tenant = await Tenant.get(id=owner.tenant_id)
    return datetime.now(ZoneInfo(tenant.timezone)).date()


_SEARCH_SQL = """
SELECT v.article_id, v.id AS version_id, v.title, v.answer, v.tenant_id,
       a.department_id,
       {text_rank} + {fuzzy_weight} * similarity($1, v.title) AS score
FROM knowledge_article_versions v
JOIN knowledge_articles a ON a.id = v.article_id
WHERE v.is_live
  AND (v.tenant_id = $2 OR (v.tenant_id IS NULL AND v.province_id = $3))
  AND (v.valid_from IS NULL OR v.valid_from <= $4)
  AND (v.valid_until IS NULL OR v.valid_until >= $4)
  AND ({matches} OR $1 % v.title)
ORDER BY score DESC, v.article_id
LIMIT $5
"""


async def search_articles(*, actor: Actor, text: str, limit: int = 10) -> list[SearchHit]:
    """Published, valid articles of the current city and its province, best first.

    The question is segmented with the city's dictionary; any of its terms may match
    (callers rarely use an article's exact words); the rank blends ``ts_rank_cd``
    with trigram similarity of the title, which also catches near-miss wording.
    """
    owner = _owner(actor, None, write=False)
    query = kbtext.normalize(text).strip()
    if not 1 <= len(query) <= MAX_QUERY:
        raise Invalid("a search has 1 to {max} characters", field="text", max=MAX_QUERY)
    if not 1 <= limit <= MAX_HITS:
        raise Invalid("limit must be between 1 and {max}", field="first", max=MAX_HITS)
    with use_scope(owner.scope):
        tokenizer = await _tokenizer(owner.tenant_id)
        words = kbtext.terms(cut_for_search(tokenizer, query))
        query_terms = kbtext.terms([*words, *kbtext.bigrams(query)])
        tsquery = kbtext.tsquery_literal(query_terms)
        params: list[Any] = [query, owner.tenant_id, owner.province_id, await _city_today(owner)]
        if tsquery is None:
            sql = _SEARCH_SQL.format(text_rank="0", fuzzy_weight="1", matches="false")
        else:
            sql = _SEARCH_SQL.format(
                text_rank="ts_rank_cd(v.search_vector, $6::tsquery, 32)",
                fuzzy_weight=FUZZY_WEIGHT,
                matches="v.search_vector @@ $6::tsquery",
            )
        rows = await connections.get("default").execute_query_dict(
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
    owner = _owner(actor, None, write=False)
    with use_scope(owner.scope):
        return cut_for_search(await _tokenizer(owner.tenant_id), kbtext.normalize(text))


async def add_dictionary_words(
    *, actor: Actor, words: Sequence[str], freq: int | None = None
) -> list[DictionaryWord]:
    """Add words (place names…) to the city's dictionary and re-index its live articles."""
    owner = _owner(actor, None, write=True)
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
        async with in_transaction():
            await DictionaryWord.bulk_create(
                [DictionaryWord(word=w, freq=freq) for w in clean], ignore_conflicts=True
            )
        tokenizer = await _tokenizer(owner.tenant_id)
        async with in_transaction() as conn:
            for version in await ArticleVersion.filter(tenant_id=owner.tenant_id, is_live=True):
                await _write_vector(conn, tokenizer, version, live=True)
        rows = await DictionaryWord.filter(word__in=clean).order_by("id")
    await _audit(actor, owner, "knowledge.dictionary_add", f"{len(clean)} words")
    return rows


async def list_dictionary_words(*, actor: Actor) -> list[DictionaryWord]:
    owner = _owner(actor, None, write=False)
    with use_scope(owner.scope):
        return await DictionaryWord.all().order_by("word")


async def _tokenizer(tenant_id: int | None) -> Tokenizer:
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


def index_vector(tokenizer: Tokenizer, version: ArticleVersion) -> str:
    """The weighted tsvector literal of a version: title and keywords weigh most."""

    def cut(value: str) -> list[str]:
        return cut_for_search(tokenizer, kbtext.normalize(value))

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


async def _write_vector(
    conn: BaseDBAsyncClient, tokenizer: Tokenizer, version: ArticleVersion, *, live: bool
) -> None:
    await conn.execute_query(
        "UPDATE knowledge_article_versions SET search_vector = $1::tsvector, is_live = $2 "
        "WHERE id = $3",
        [index_vector(tokenizer, version), live, version.id],
    )


async def _audit(actor: Actor, owner: _Owner, action: str, target: object) -> None:
    await record_audit(
        actor_id=actor.user_id,
        action=action,
        target=str(target),
        tenant_id=owner.tenant_id,
        province_id=owner.province_id,
    )
