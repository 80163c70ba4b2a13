# ruff: noqa  (generated migration; the migrations folders are excluded from lint)
"""Row-level security and same-tenant keys for the notify tables; the sweep indexes."""

from tortoise import migrations
from tortoise.migrations import operations as ops

from hotline.platform.db.rls import enable_tenant_rls, same_tenant_fk

TABLES = (
    "notification_templates",
    "notification_preferences",
    "webhook_endpoints",
    "notices",
    "routing_model_versions",
    "routing_suggestions",
    "sweep_marks",
)

SQL = [
    *[
        f'ALTER TABLE "{t}" ADD CONSTRAINT "{t}_tenant_fk" FOREIGN KEY (tenant_id) '
        'REFERENCES "tenants" (id) ON DELETE RESTRICT'
        for t in TABLES
    ],
    *[sql for t in TABLES for sql in enable_tenant_rls(t)],
    same_tenant_fk("notification_preferences", "department_id", "departments", on_delete="CASCADE"),
    same_tenant_fk("routing_suggestions", "ticket_id", "tickets", on_delete="CASCADE"),
    same_tenant_fk("notices", "ticket_id", "tickets", on_delete="CASCADE"),
    'ALTER TABLE "notification_preferences" ADD CONSTRAINT "notification_preferences_one" '
    "UNIQUE NULLS NOT DISTINCT (tenant_id, department_id, user_id, event, channel)",
    'CREATE INDEX "notices_inbox" ON "notices" (tenant_id, user_id, id DESC)',
    'CREATE INDEX "notices_unread" ON "notices" (tenant_id, user_id) WHERE read_at IS NULL',
    # Sweeps read each deadline column by (status, deadline) ranges; reply deadlines use
    # assignments_due from hotline 0004.
    'CREATE INDEX "assignments_due_soon" ON "assignments" (tenant_id, status, due_soon_at)',
    'CREATE INDEX "assignments_sign_due" ON "assignments" (tenant_id, status, sign_deadline)',
    # At most one open automatic supervision per assignment: two sweeps racing (or one
    # repeated) insert it once — ON CONFLICT DO NOTHING.
    'CREATE UNIQUE INDEX "supervisions_one_open_auto" ON "supervisions" (tenant_id, assignment_id) '
    "WHERE status = 'open' AND automatic",
]


class Migration(migrations.Migration):
    dependencies = [("notify", "0001_initial"), ("hotline", "0004_tickets_tenancy")]

    operations = [ops.RunSQL(SQL)]
