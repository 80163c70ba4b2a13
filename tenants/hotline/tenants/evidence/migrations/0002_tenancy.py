# ruff: noqa  # hand-written RunSQL in the generated migrations' style
"""Row-level security, same-tenant keys and the sweep indexes of the evidence tables."""

from tortoise import migrations
from tortoise.migrations import operations as ops

from hotline.platform.db.rls import enable_tenant_rls, same_tenant_fk

TABLES = ("evidence", "evidence_downloads", "evidence_policies")

SQL = [
    *[
        f'ALTER TABLE "{t}" ADD CONSTRAINT "{t}_tenant_fk" FOREIGN KEY (tenant_id) '
        'REFERENCES "tenants" (id) ON DELETE RESTRICT'
        for t in TABLES
    ],
    *[sql for t in TABLES for sql in enable_tenant_rls(t)],
    same_tenant_fk("evidence", "ticket_id", "tickets"),
    same_tenant_fk("evidence", "assignment_id", "assignments"),
    same_tenant_fk("evidence_downloads", "evidence_id", "evidence"),
    'CREATE INDEX "evidence_ticket" ON "evidence" (tenant_id, ticket_id, id)',
    # The sweep of unfinalized uploads and the retention job.
    'CREATE INDEX "evidence_status" ON "evidence" (tenant_id, status, upload_expires_at)',
    'CREATE INDEX "evidence_downloads_evidence" ON "evidence_downloads" (evidence_id)',
    'CREATE UNIQUE INDEX "evidence_object_key" ON "evidence" (object_key)',
]


class Migration(migrations.Migration):
    dependencies = [("evidence", "0001_initial")]

    operations = [ops.RunSQL(SQL)]
