"""Synonym groups: a city's own and its province's shared, secured like the articles."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from hotline.platform.db.rls import CITY_OR_PROVINCE, province_shared_rows

_TABLE = "knowledge_synonym_groups"
_PROVINCE_SCOPE = "current_setting('app.scope', true) = 'province'"
_WRITE = f"({CITY_OR_PROVINCE} OR ({_PROVINCE_SCOPE} AND {province_shared_rows()}))"

SQL = [
    f'ALTER TABLE "{_TABLE}" ADD CONSTRAINT "{_TABLE}_province_fk" '
    'FOREIGN KEY (province_id) REFERENCES "provinces" (id) ON DELETE RESTRICT',
    f'ALTER TABLE "{_TABLE}" ADD CONSTRAINT "{_TABLE}_tenant_fk" '
    'FOREIGN KEY (tenant_id) REFERENCES "tenants" (id) ON DELETE CASCADE',
    f'ALTER TABLE "{_TABLE}" ADD CONSTRAINT "{_TABLE}_two_terms" '
    "CHECK (jsonb_typeof(terms) = 'array' AND jsonb_array_length(terms) >= 2)",
    f'ALTER TABLE "{_TABLE}" ENABLE ROW LEVEL SECURITY',
    f'ALTER TABLE "{_TABLE}" FORCE ROW LEVEL SECURITY',
    f'CREATE POLICY "{_TABLE}_read" ON "{_TABLE}" FOR SELECT '
    f"USING ({CITY_OR_PROVINCE} OR {province_shared_rows()})",
    f'CREATE POLICY "{_TABLE}_write" ON "{_TABLE}" FOR ALL USING {_WRITE} WITH CHECK {_WRITE}',
    f'CREATE INDEX "{_TABLE}_owner" ON "{_TABLE}" (province_id, tenant_id)',
]


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0002_search")]  # noqa: RUF012

    operations = [  # noqa: RUF012
        ops.CreateModel(
            name="SynonymGroup",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("province_id", fields.BigIntField()),
                ("tenant_id", fields.BigIntField(null=True)),
                ("terms", fields.JSONField(default=list)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": _TABLE,
                "app": "knowledge",
                "pk_attr": "id",
                "table_description": "Words callers and articles use for the same thing (``户口``, ``户籍``).",
            },
            bases=["Model"],
        ),
        ops.RunSQL(SQL),
    ]
