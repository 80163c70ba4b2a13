"""Knowledge articles (city or province-shared), their versions, and city dictionaries.

An article is owned by a city (``tenant_id``) or shared by every city of a province
(``tenant_id`` NULL). Like ``calendar_entries`` these tables are row-level secured
with a policy of their own: shared rows are readable by the province's cities and
writable only in province scope. The search vector (``search_vector tsvector``) of
a version is not mapped here: the service writes it with SQL (see ``search.py``).
"""

from __future__ import annotations

import enum
from typing import Any

from tortoise import fields

from hotline.platform.db.models import Model, TenantModel
from hotline.tenants.departments.models import Department


class ArticleStatus(enum.StrEnum):
    DRAFT = "draft"  # never published
    PUBLISHED = "published"  # one version is live and searchable
    UNPUBLISHED = "unpublished"  # was published, withdrawn


class Article(Model):
    """Identity, ownership and state; the content lives in :class:`ArticleVersion`."""

    province_id = fields.BigIntField()
    tenant_id = fields.BigIntField(null=True)  # NULL: shared by the province's cities
    # A department's standard answer (city articles only).
    department: fields.ForeignKeyNullableRelation[Department] = fields.ForeignKeyField(
        "departments.Department", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    department_id: int | None
    status = fields.CharEnumField(ArticleStatus, max_length=12, default=ArticleStatus.DRAFT)
    latest_version = fields.IntField(default=0)
    # The version shown and searched while published (FK added in the migration).
    published_version_id = fields.BigIntField(null=True)
    published_at = fields.DatetimeField(null=True)
    created_by_id = fields.BigIntField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "knowledge_articles"


class ArticleVersion(Model):
    """One immutable edit of an article. ``is_live`` marks the published version."""

    province_id = fields.BigIntField()
    tenant_id = fields.BigIntField(null=True)
    article: fields.ForeignKeyRelation[Article] = fields.ForeignKeyField(
        "knowledge.Article", related_name="versions", on_delete=fields.CASCADE
    )
    article_id: int
    number = fields.IntField()
    title = fields.CharField(max_length=200)  # the question as a caller would ask it
    answer = fields.TextField()
    keywords: Any = fields.JSONField(default=list)
    tags: Any = fields.JSONField(default=list)  # category tags
    valid_from = fields.DateField(null=True)
    valid_until = fields.DateField(null=True)
    author_id = fields.BigIntField(null=True)
    is_live = fields.BooleanField(default=False)

    class Meta:
        table = "knowledge_article_versions"
        unique_together = (("article_id", "number"),)


class DictionaryWord(TenantModel):
    """A word of the city's own jieba dictionary (place names, local services)."""

    word = fields.CharField(max_length=40)
    freq = fields.IntField(null=True)  # None: jieba picks one that keeps the word whole

    class Meta:
        table = "knowledge_dictionary_words"
        unique_together = (("tenant_id", "word"),)


class SynonymGroup(Model):
    """Words callers and articles use for the same thing (``户口``, ``户籍``).

    A city's group (``tenant_id`` set) or one shared by every city of the province
    (``tenant_id`` NULL), secured like the articles. Applied when indexing and when
    searching (see ``synonyms.py``).
    """

    province_id = fields.BigIntField()
    tenant_id = fields.BigIntField(null=True)  # NULL: shared by the province's cities
    terms: Any = fields.JSONField(default=list)  # 2+ normalised words
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "knowledge_synonym_groups"
