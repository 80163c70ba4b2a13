"""Row-level security, same-tenant keys, work-queue indexes and the append-only timeline."""

from tortoise import migrations
from tortoise.migrations import operations as ops

from hotline.platform.db.rls import enable_tenant_rls, same_tenant_fk

TABLES = (
    "categories",
    "routing_rules",
    "tickets",
    "assignments",
    "timeline_events",
    "extension_requests",
    "supervisions",
    "revisits",
    "ticket_counters",
)

SQL = [
    *[
        f'ALTER TABLE "{t}" ADD CONSTRAINT "{t}_tenant_fk" FOREIGN KEY (tenant_id) '
        'REFERENCES "tenants" (id) ON DELETE RESTRICT'
        for t in TABLES
    ],
    *[sql for t in TABLES for sql in enable_tenant_rls(t)],
    same_tenant_fk("categories", "parent_id", "categories"),
    same_tenant_fk("routing_rules", "area_id", "departments"),
    same_tenant_fk("routing_rules", "category_id", "categories"),
    same_tenant_fk("routing_rules", "department_id", "departments"),
    same_tenant_fk("tickets", "category_id", "categories"),
    same_tenant_fk("tickets", "area_id", "departments"),
    same_tenant_fk("tickets", "merged_into_id", "tickets"),
    same_tenant_fk("assignments", "ticket_id", "tickets", on_delete="CASCADE"),
    same_tenant_fk("assignments", "department_id", "departments"),
    same_tenant_fk("assignments", "parent_id", "assignments", on_delete="CASCADE"),
    same_tenant_fk("timeline_events", "ticket_id", "tickets"),
    same_tenant_fk("extension_requests", "assignment_id", "assignments", on_delete="CASCADE"),
    same_tenant_fk("extension_requests", "ticket_id", "tickets"),
    same_tenant_fk("supervisions", "ticket_id", "tickets"),
    same_tenant_fk("revisits", "ticket_id", "tickets"),
    'CREATE INDEX "categories_path_prefix" ON "categories" (tenant_id, path text_pattern_ops)',
    # Center queues, filters and deadline sweeps: status first, then the deadline.
    'CREATE INDEX "tickets_queue" ON "tickets" (tenant_id, status, reply_deadline)',
    'CREATE INDEX "tickets_sign_due" ON "tickets" (tenant_id, status, sign_deadline)',
    'CREATE INDEX "tickets_received" ON "tickets" (tenant_id, received_at DESC, id DESC)',
    'CREATE INDEX "tickets_caller" ON "tickets" (tenant_id, citizen_phone_hash, received_at DESC)',
    'CREATE INDEX "tickets_place" ON "tickets" (tenant_id, category_id, area_id, received_at DESC)',
    # Department inboxes and assignment sweeps.
    'CREATE INDEX "assignments_inbox" ON "assignments" (tenant_id, department_id, status, reply_deadline)',
    'CREATE INDEX "assignments_due" ON "assignments" (tenant_id, status, reply_deadline)',
    'CREATE INDEX "assignments_ticket" ON "assignments" (ticket_id)',
    'CREATE INDEX "supervisions_open" ON "supervisions" (tenant_id, status, escalate_at)',
    # The timeline is append-only for everyone, owner included.
    """
    CREATE FUNCTION hotline_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
    END $$
    """,
    'CREATE TRIGGER "timeline_events_append_only" BEFORE UPDATE OR DELETE ON "timeline_events" '
    "FOR EACH ROW EXECUTE FUNCTION hotline_append_only()",
]


class Migration(migrations.Migration):
    dependencies = [("hotline", "0003_tickets")]

    operations = [ops.RunSQL(SQL)]
