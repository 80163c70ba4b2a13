"""Articles: create, edit (a new version each time), publish, unpublish, read.

City articles are managed in the city (``knowledge.manage``); province-shared ones
(``tenant_id`` NULL) with ``province_id`` and no city selected, by province admins
(``knowledge.shared_manage``). Every city of the province reads the shared ones; readers
see published articles only. The published version stays live until the article is
published again; its search vector is written on publish (:mod:`.search`)."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from hotline.platform import clock
from hotline.platform.tenancy import use_scope
from hotline.tenants.departments.models import Department
from hotline.tenants.kernel.access import Actor
from hotline.tenants.kernel.errors import Invalid, NotFound, PermissionDenied
from hotline.tenants.knowledge.indexing import synonym_groups, tokenizer_for, write_vector
from hotline.tenants.knowledge.models import (
    Article,
    ArticleStatus,
    ArticleVersion,
)
from hotline.tenants.knowledge.owners import (
    MAX_ANSWER,
    MAX_ITEM,
    MAX_LIST_ITEMS,
    MAX_TITLE,
    Owner,
    audit,
    city_today,
    owner_of,
)


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


async def _check_department(owner: Owner, department_id: int | None) -> None:
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


async def _visible(owner: Owner, article_id: int) -> Article:
    article = await Article.filter(owner.visible(), id=article_id).first()
    if article is None or (not owner.manage and article.status is not ArticleStatus.PUBLISHED):
        raise NotFound("article", field="articleId")
    return article


async def _locked(owner: Owner, article_id: int) -> Article:
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
    owner = owner_of(actor, province_id, write=False)
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
    owner = owner_of(actor, province_id, write=False)
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
    owner = owner_of(actor, province_id, write=False)
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
    owner = owner_of(actor, province_id, write=True)
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
        async with in_transaction("default"):
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
    await audit(actor, owner, "knowledge.article_create", article.id)
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
    owner = owner_of(actor, province_id, write=True)
    with use_scope(owner.scope):
        if not isinstance(department_id, Keep):
            await _check_department(owner, department_id)
        async with in_transaction("default"):
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
    await audit(actor, owner, "knowledge.article_update", article.id)
    return view


async def publish_article(
    *, actor: Actor, article_id: int, province_id: int | None = None
) -> ArticleView:
    """Make the latest version live and searchable (again, after an edit)."""
    owner = owner_of(actor, province_id, write=True)
    with use_scope(owner.scope):
        tokenizer = await tokenizer_for(owner.tenant_id)
        synonyms = await synonym_groups(owner.tenant_id, owner.province_id)
        async with in_transaction("default") as conn:
            article = await _locked(owner, article_id)
            latest = await ArticleVersion.get(article_id=article.id, number=article.latest_version)
            if article.published_version_id != latest.id:
                await ArticleVersion.filter(article_id=article.id, is_live=True).update(
                    is_live=False
                )
                await write_vector(conn, tokenizer, synonyms, latest, live=True)
            article.status = ArticleStatus.PUBLISHED
            article.published_version_id = latest.id
            article.published_at = clock.now()
            await article.save(
                update_fields=["status", "published_version_id", "published_at", "updated_at"]
            )
            view = (await _views([article]))[0]
    await audit(actor, owner, "knowledge.article_publish", article.id)
    return view


async def unpublish_article(
    *, actor: Actor, article_id: int, province_id: int | None = None
) -> ArticleView:
    """Withdraw a published article: it no longer shows or matches; its versions stay."""
    owner = owner_of(actor, province_id, write=True)
    with use_scope(owner.scope):
        async with in_transaction("default"):
            article = await _locked(owner, article_id)
            if article.status is not ArticleStatus.PUBLISHED:
                raise Invalid("the article is not published", field="articleId")
            await ArticleVersion.filter(article_id=article.id, is_live=True).update(is_live=False)
            article.status = ArticleStatus.UNPUBLISHED
            article.published_version_id = None
            await article.save(update_fields=["status", "published_version_id", "updated_at"])
            view = (await _views([article]))[0]
    await audit(actor, owner, "knowledge.article_unpublish", article.id)
    return view


async def article_answer(*, actor: Actor, article_id: int) -> tuple[int, str]:
    """For "answer directly from an article": the live answer of a published, valid
    article visible in the current city; NotFound otherwise (Invalid when expired)."""
    owner = owner_of(actor, None, write=False)
    with use_scope(owner.scope):
        article = await Article.filter(
            owner.visible(), id=article_id, status=ArticleStatus.PUBLISHED
        ).first()
        if article is None or article.published_version_id is None:
            raise NotFound("article", field="articleId")
        version = await ArticleVersion.get(id=article.published_version_id)
        today = await city_today(owner)
        if not _valid_on(version, today):
            raise Invalid("the article is not valid today", field="articleId")
    return article.id, version.answer


def _valid_on(version: ArticleVersion, day: date) -> bool:
    return (version.valid_from is None or version.valid_from <= day) and (
        version.valid_until is None or version.valid_until >= day
    )
