"""Row-level security, same-tenant foreign keys and constraints the autodetector misses."""

from tortoise import migrations
from tortoise.migrations import operations as ops

from hotline.platform.db.rls import (
    CITY_OR_PROVINCE,
    enable_tenant_rls,
    own_user_rows,
    province_shared_rows,
    same_tenant_fk,
)

SQL = [
    # Tenant tables point at their city; the city at its province.
    'ALTER TABLE "departments" ADD CONSTRAINT "departments_tenant_fk" '
    'FOREIGN KEY (tenant_id) REFERENCES "tenants" (id) ON DELETE RESTRICT',
    'ALTER TABLE "memberships" ADD CONSTRAINT "memberships_tenant_fk" '
    'FOREIGN KEY (tenant_id) REFERENCES "tenants" (id) ON DELETE CASCADE',
    'ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_tenant_fk" '
    'FOREIGN KEY (tenant_id) REFERENCES "tenants" (id) ON DELETE CASCADE',
    'ALTER TABLE "province_roles" ADD CONSTRAINT "province_roles_province_fk" '
    'FOREIGN KEY (province_id) REFERENCES "provinces" (id) ON DELETE CASCADE',
    # Departments
    *enable_tenant_rls("departments"),
    same_tenant_fk("departments", "parent_id", "departments"),
    'CREATE INDEX "departments_path_prefix" ON "departments" (tenant_id, path text_pattern_ops)',
    # Memberships: a user also reads their own memberships in every city (``me``).
    *enable_tenant_rls("memberships", extra_read=own_user_rows()),
    same_tenant_fk("memberships", "department_id", "departments", on_delete="SET NULL"),
    'CREATE UNIQUE INDEX "memberships_unique_role" ON "memberships" '
    "(tenant_id, user_id, role, department_id) NULLS NOT DISTINCT",
    # Calendar entries: a city's rows, plus its province's shared rows (read only).
    'ALTER TABLE "calendar_entries" ADD CONSTRAINT "calendar_entries_province_fk" '
    'FOREIGN KEY (province_id) REFERENCES "provinces" (id) ON DELETE CASCADE',
    'ALTER TABLE "calendar_entries" ADD CONSTRAINT "calendar_entries_tenant_fk" '
    'FOREIGN KEY (tenant_id) REFERENCES "tenants" (id) ON DELETE CASCADE',
    'CREATE UNIQUE INDEX "calendar_entries_day" ON "calendar_entries" '
    "(province_id, tenant_id, day) NULLS NOT DISTINCT",
    'ALTER TABLE "calendar_entries" ENABLE ROW LEVEL SECURITY',
    'ALTER TABLE "calendar_entries" FORCE ROW LEVEL SECURITY',
    f'CREATE POLICY "calendar_entries_read" ON "calendar_entries" FOR SELECT '
    f"USING ({CITY_OR_PROVINCE} OR {province_shared_rows()})",
    f'CREATE POLICY "calendar_entries_write" ON "calendar_entries" FOR ALL '
    f"USING ({CITY_OR_PROVINCE} OR (current_setting('app.scope', true) = 'province' "
    f"AND {province_shared_rows()})) "
    f"WITH CHECK ({CITY_OR_PROVINCE} OR (current_setting('app.scope', true) = 'province' "
    f"AND {province_shared_rows()}))",
    # Audit: anyone may append; a city reads its rows, a province its province's.
    'ALTER TABLE "audit_events" ENABLE ROW LEVEL SECURITY',
    'ALTER TABLE "audit_events" FORCE ROW LEVEL SECURITY',
    'CREATE POLICY "audit_events_append" ON "audit_events" FOR INSERT WITH CHECK (true)',
    f'CREATE POLICY "audit_events_read" ON "audit_events" FOR SELECT USING ({CITY_OR_PROVINCE}'
    " OR (current_setting('app.scope', true) = 'province' AND tenant_id IS NULL "
    "AND province_id = NULLIF(current_setting('app.province_id', true), '')::bigint))",
    'CREATE INDEX "audit_events_scope" ON "audit_events" (province_id, tenant_id, created_at)',
]


class Migration(migrations.Migration):
    dependencies = [("hotline", "0001_initial")]

    operations = [ops.RunSQL(SQL)]
