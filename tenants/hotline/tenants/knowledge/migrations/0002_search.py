"""Row-level security, owner-consistent keys and the Chinese search indexes.

``knowledge_articles`` and ``knowledge_article_versions`` hold city rows and
province-shared rows (``tenant_id`` NULL), secured like ``calendar_entries``: shared
rows are readable by every city of the province and writable in province scope only.
``owner_key`` (the city id, or minus the province id for shared rows) lets a plain
composite key keep a version with its own article, which a NULL ``tenant_id`` would
let a two-column key skip.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

from hotline.platform.db.rls import (
    CITY_OR_PROVINCE,
    enable_tenant_rls,
    province_shared_rows,
    same_tenant_fk,
)

_PROVINCE_SCOPE = "current_setting('app.scope', true) = 'province'"
_WRITE = f"({CITY_OR_PROVINCE} OR ({_PROVINCE_SCOPE} AND {province_shared_rows()}))"


def _shared_table(table: str) -> list[str]:
    return [
        f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_province_fk" '
        'FOREIGN KEY (province_id) REFERENCES "provinces" (id) ON DELETE RESTRICT',
        f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_tenant_fk" '
        'FOREIGN KEY (tenant_id) REFERENCES "tenants" (id) ON DELETE RESTRICT',
        f'ALTER TABLE "{table}" ADD COLUMN owner_key bigint '
        "GENERATED ALWAYS AS (COALESCE(tenant_id, -province_id)) STORED",
        f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_owner_id_key" UNIQUE (owner_key, id)',
        f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY',
        f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY',
        f'CREATE POLICY "{table}_read" ON "{table}" FOR SELECT '
        f"USING ({CITY_OR_PROVINCE} OR {province_shared_rows()})",
        f'CREATE POLICY "{table}_write" ON "{table}" FOR ALL USING {_WRITE} WITH CHECK {_WRITE}',
        f'CREATE INDEX "{table}_owner" ON "{table}" (tenant_id, province_id)',
    ]


SQL = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    *_shared_table("knowledge_articles"),
    *_shared_table("knowledge_article_versions"),
    # Standard answers belong to a department of the article's own city.
    same_tenant_fk("knowledge_articles", "department_id", "departments"),
    'ALTER TABLE "knowledge_articles" ADD CONSTRAINT "knowledge_articles_shared_no_department" '
    "CHECK (department_id IS NULL OR tenant_id IS NOT NULL)",
    'ALTER TABLE "knowledge_article_versions" ADD CONSTRAINT '
    '"knowledge_article_versions_same_owner" FOREIGN KEY (owner_key, article_id) '
    'REFERENCES "knowledge_articles" (owner_key, id) ON DELETE CASCADE',
    'ALTER TABLE "knowledge_articles" ADD CONSTRAINT "knowledge_articles_published_version_fk" '
    'FOREIGN KEY (owner_key, published_version_id) REFERENCES "knowledge_article_versions" '
    "(owner_key, id) ON DELETE RESTRICT",
    'CREATE INDEX "knowledge_articles_listing" ON "knowledge_articles" (owner_key, status, id)',
    # jieba tokens of the live version with weights, written by the service.
    'ALTER TABLE "knowledge_article_versions" ADD COLUMN search_vector tsvector',
    'CREATE UNIQUE INDEX "knowledge_article_versions_one_live" '
    'ON "knowledge_article_versions" (article_id) WHERE is_live',
    'CREATE INDEX "knowledge_article_versions_search" ON "knowledge_article_versions" '
    "USING gin (search_vector) WHERE is_live",
    'CREATE INDEX "knowledge_article_versions_title_trgm" ON "knowledge_article_versions" '
    "USING gin (title gin_trgm_ops) WHERE is_live",
    # The city dictionary is an ordinary tenant table.
    'ALTER TABLE "knowledge_dictionary_words" ADD CONSTRAINT '
    '"knowledge_dictionary_words_tenant_fk" FOREIGN KEY (tenant_id) '
    'REFERENCES "tenants" (id) ON DELETE CASCADE',
    *enable_tenant_rls("knowledge_dictionary_words"),
]


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0001_initial")]  # noqa: RUF012

    operations = [ops.RunSQL(SQL)]  # noqa: RUF012
