# ruff: noqa  (a migration is history: frozen literals, excluded from lint)
"""The ticket timeline partitioned by month (range on ``created_at``, UTC months;
docs/operations.md "Partitioning"). Frozen as literals.

A partitioned table's unique keys must contain the partition key: the primary key becomes
``(id, created_at)`` and the chain's key ``(ticket_id, seq, created_at)``. The index still
serves every read of a ticket's chain (by ticket, in seq order, in each month); a ticket's
sequence stays unique because every append holds the ticket's row lock and takes
``timeline_seq + 1`` from it (``tickets.work``), not because of the index. The former
``(tenant_id, id)`` key goes: no table references a timeline event. The same-city key to
tickets, the plain foreign key, row-level security (enabled and forced, the city/province
policies) and the append-only trigger are the parent's and hold on every partition;
each partition has row security enabled with no policy of its own, so the runtime role
reading one directly sees nothing. Months are made by ``hotline_make_month_partitions``
(platform 0003), rows of a month without a partition wait in ``timeline_events_default``.

The existing rows are copied in this migration's transaction, under an exclusive lock on
the timeline: every change of a ticket appends to it, so on a large database this runs
in a maintenance window (docs/operations.md). The previous release's statements (its
INSERT … RETURNING id, its reads by ticket and seq) run unchanged on the new table.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import UniqueConstraint

from hotline.platform.db.rls import CITY_OR_PROVINCE

CONVERT = [
    """
DO $do$
DECLARE
    behind int;
BEGIN
    ALTER TABLE timeline_events RENAME TO timeline_events_plain;
    -- the old table forces RLS on its owner too: without this an owner lacking
    -- BYPASSRLS (no scope set here) would read, copy and keep no row at all
    ALTER TABLE timeline_events_plain NO FORCE ROW LEVEL SECURITY;
    CREATE TABLE timeline_events (LIKE timeline_events_plain INCLUDING DEFAULTS)
        PARTITION BY RANGE (created_at);
    SELECT coalesce((extract(year FROM age(date_trunc('month', now() AT TIME ZONE 'UTC'),
                                          date_trunc('month', min(created_at) AT TIME ZONE 'UTC'))) * 12
                     + extract(month FROM age(date_trunc('month', now() AT TIME ZONE 'UTC'),
                                              date_trunc('month', min(created_at) AT TIME ZONE 'UTC'))))::int, 0)
      INTO behind FROM timeline_events_plain;
    CREATE TABLE timeline_events_default PARTITION OF timeline_events DEFAULT;
    ALTER TABLE timeline_events_default ENABLE ROW LEVEL SECURITY;
    -- the months of the existing rows and 3 ahead first, so each row is written once
    PERFORM hotline_make_month_partitions('timeline_events', 3, least(greatest(behind, 0), 240));
END
$do$""",
    # the foreign keys before the copy, which then checks each row as PostgreSQL's
    # referential triggers do, past the tickets' forced row security. Added after the
    # copy, their one-query validation reads tickets as the migration owner, whom FORCE
    # shows no ticket unless it has BYPASSRLS: every event would look orphaned.
    'ALTER TABLE "timeline_events" ADD CONSTRAINT "timeline_events_tenant_fk" FOREIGN KEY (tenant_id) '
    'REFERENCES "tenants" (id) ON DELETE RESTRICT',
    'ALTER TABLE "timeline_events" ADD CONSTRAINT "timeline_events_ticket_id_fkey" '
    'FOREIGN KEY ("ticket_id") REFERENCES "tickets" (id) ON DELETE RESTRICT',
    'ALTER TABLE "timeline_events" ADD CONSTRAINT "timeline_events_ticket_id_same_tenant" '
    'FOREIGN KEY (tenant_id, "ticket_id") REFERENCES "tickets" (tenant_id, id) ON DELETE RESTRICT',
    """
DO $do$
DECLARE
    seq text := pg_get_serial_sequence('timeline_events_plain', 'id');
BEGIN
    INSERT INTO timeline_events SELECT * FROM timeline_events_plain;
    IF (SELECT count(*) FROM timeline_events) <> (SELECT count(*) FROM timeline_events_plain) THEN
        RAISE EXCEPTION 'timeline_events: the copy into partitions lost rows';
    END IF;
    -- the id sequence (still the old column's) outlives the old table
    EXECUTE format('ALTER SEQUENCE %s OWNED BY NONE', seq);
    DROP TABLE timeline_events_plain;
    EXECUTE format('ALTER SEQUENCE %s OWNED BY timeline_events.id', seq);
END
$do$""",
    'ALTER TABLE "timeline_events" ADD CONSTRAINT "timeline_events_pkey" PRIMARY KEY (id, created_at)',
    'CREATE INDEX "idx_timeline_ev_tenant__f5c070" ON "timeline_events" (tenant_id)',
    'ALTER TABLE "timeline_events" ENABLE ROW LEVEL SECURITY',
    'ALTER TABLE "timeline_events" FORCE ROW LEVEL SECURITY',
    f'CREATE POLICY "timeline_events_read" ON "timeline_events" FOR SELECT USING {CITY_OR_PROVINCE}',
    f'CREATE POLICY "timeline_events_insert" ON "timeline_events" FOR INSERT WITH CHECK {CITY_OR_PROVINCE}',
    f'CREATE POLICY "timeline_events_update" ON "timeline_events" FOR UPDATE USING {CITY_OR_PROVINCE}'
    f" WITH CHECK {CITY_OR_PROVINCE}",
    f'CREATE POLICY "timeline_events_delete" ON "timeline_events" FOR DELETE USING {CITY_OR_PROVINCE}',
    # append-only for everyone, owner included (cloned onto every partition)
    'CREATE TRIGGER "timeline_events_append_only" BEFORE UPDATE OR DELETE ON "timeline_events" '
    "FOR EACH ROW EXECUTE FUNCTION hotline_append_only()",
]


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial"), ("platform", "0003_month_partitions")]

    initial = False

    operations = [
        ops.RemoveConstraint(model_name="TimelineEvent", name=None, fields=["ticket", "seq"]),
        ops.RunSQL(CONVERT),
        ops.AddConstraint(
            model_name="TimelineEvent",
            constraint=UniqueConstraint(fields=("ticket", "seq", "created_at"), name=None),
        ),
    ]
