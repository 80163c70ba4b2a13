# ruff: noqa  (generated migration; the migrations folders are excluded from lint)
"""Row-level security and same-tenant keys for the notify tables. (The sweep indexes and marks are the tickets app's.)"""

from tortoise import migrations
from tortoise.migrations import operations as ops

from hotline.platform.db.rls import enable_tenant_rls, same_tenant_fk

TABLES = (
    "notification_templates",
    "notification_preferences",
    "webhook_endpoints",
    "notices",
)

SQL = [
    *[
        f'ALTER TABLE "{t}" ADD CONSTRAINT "{t}_tenant_fk" FOREIGN KEY (tenant_id) '
        'REFERENCES "tenants" (id) ON DELETE RESTRICT'
        for t in TABLES
    ],
    *[sql for t in TABLES for sql in enable_tenant_rls(t)],
    same_tenant_fk("notification_preferences", "department_id", "departments", on_delete="CASCADE"),
    same_tenant_fk("notices", "ticket_id", "tickets", on_delete="CASCADE"),
    'ALTER TABLE "notification_preferences" ADD CONSTRAINT "notification_preferences_one" '
    "UNIQUE NULLS NOT DISTINCT (tenant_id, department_id, user_id, event, channel)",
    'CREATE INDEX "notices_inbox" ON "notices" (tenant_id, user_id, id DESC)',
    'CREATE INDEX "notices_unread" ON "notices" (tenant_id, user_id) WHERE read_at IS NULL',
]


class Migration(migrations.Migration):
    dependencies = [("notify", "0001_initial"), ("departments", "0001_initial"), ("tickets", "0001_initial")]

    operations = [ops.RunSQL(SQL)]
