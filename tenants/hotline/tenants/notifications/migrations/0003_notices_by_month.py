# ruff: noqa  (a migration is history: frozen literals, excluded from lint)
"""In-app notices partitioned by month (range on ``created_at``, UTC months;
docs/operations.md "Partitioning"). Frozen as literals.

A partitioned table's unique keys must contain the partition key: the primary key becomes
``(id, created_at)`` and the send key ``(tenant_id, send_key)`` becomes ``(tenant_id,
send_key, created_at)``. That key still dedupes a redelivery exactly because a notice's
``created_at`` is now its outbox message's own ``created_at`` (the same on every delivery
of the message), not the delivery's time (``notifications.delivery``). The former
``(tenant_id, id)`` key goes: no table references a notice. The same-city key to tickets
(``ON DELETE CASCADE``), row-level security (enabled and forced, the city/province
policies) and the inbox indexes are the parent's and hold on every partition; each
partition has row security enabled with no policy of its own, so the runtime role reading
one directly sees nothing. Months are made by ``hotline_make_month_partitions`` (platform
0003); rows of a month without a partition wait in ``notices_default``.

A notice whose message still waits in the outbox (pending or dead: delivered by the
previous release, which then failed to settle it) takes that message's ``created_at``, so
the new release's redelivery finds it instead of inserting it again. Every other notice
keeps its time.

The existing rows are copied in this migration's transaction, under an exclusive lock on
the notices. A **contract** step for the previous release's workers: their in-app insert
names ``ON CONFLICT (tenant_id, send_key)``, which no index of the partitioned table can
arbitrate, so they are stopped before this migration and the new ones started after it
(docs/operations.md "Partitioning"); API pods only read and mark notices, unchanged.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import UniqueConstraint

from hotline.platform.db.rls import CITY_OR_PROVINCE, same_tenant_fk

CONVERT = [
    """
DO $do$
DECLARE
    behind int;
BEGIN
    ALTER TABLE notices RENAME TO notices_plain;
    -- the old table forces RLS on its owner too: without this an owner lacking
    -- BYPASSRLS (no scope set here) would read, copy and keep no row at all
    ALTER TABLE notices_plain NO FORCE ROW LEVEL SECURITY;
    -- a notice whose message still waits takes the message's time (before the months
    -- are counted: it may be the oldest); the send key is unique in the outbox
    UPDATE notices_plain n SET created_at = o.created_at
      FROM outbox o
     WHERE o.send_key = n.send_key AND o.tenant_id = n.tenant_id AND o.kind = 'inapp'
       AND o.status IN ('pending', 'dead') AND o.created_at <> n.created_at;
    CREATE TABLE notices (LIKE notices_plain INCLUDING DEFAULTS)
        PARTITION BY RANGE (created_at);
    SELECT coalesce((extract(year FROM age(date_trunc('month', now() AT TIME ZONE 'UTC'),
                                          date_trunc('month', min(created_at) AT TIME ZONE 'UTC'))) * 12
                     + extract(month FROM age(date_trunc('month', now() AT TIME ZONE 'UTC'),
                                              date_trunc('month', min(created_at) AT TIME ZONE 'UTC'))))::int, 0)
      INTO behind FROM notices_plain;
    CREATE TABLE notices_default PARTITION OF notices DEFAULT;
    ALTER TABLE notices_default ENABLE ROW LEVEL SECURITY;
    -- the months of the existing rows and 3 ahead first, so each row is written once
    PERFORM hotline_make_month_partitions('notices', 3, least(greatest(behind, 0), 240));
END
$do$""",
    # the foreign keys before the copy, which then checks each row as PostgreSQL's
    # referential triggers do, past the tickets' forced row security. Added after the
    # copy, their one-query validation reads tickets as the migration owner, whom FORCE
    # shows no ticket unless it has BYPASSRLS: every notice of a ticket would look orphaned.
    'ALTER TABLE "notices" ADD CONSTRAINT "notices_tenant_fk" FOREIGN KEY (tenant_id) '
    'REFERENCES "tenants" (id) ON DELETE RESTRICT',
    same_tenant_fk("notices", "ticket_id", "tickets", on_delete="CASCADE"),
    """
DO $do$
DECLARE
    seq text := pg_get_serial_sequence('notices_plain', 'id');
BEGIN
    INSERT INTO notices SELECT * FROM notices_plain;
    IF (SELECT count(*) FROM notices) <> (SELECT count(*) FROM notices_plain) THEN
        RAISE EXCEPTION 'notices: the copy into partitions lost rows';
    END IF;
    -- the id sequence (still the old column's) outlives the old table
    EXECUTE format('ALTER SEQUENCE %s OWNED BY NONE', seq);
    DROP TABLE notices_plain;
    EXECUTE format('ALTER SEQUENCE %s OWNED BY notices.id', seq);
END
$do$""",
    'ALTER TABLE "notices" ADD CONSTRAINT "notices_pkey" PRIMARY KEY (id, created_at)',
    'CREATE INDEX "idx_notices_tenant__68e003" ON "notices" (tenant_id)',
    # a user's inbox newest first and the unread count: each month answers from its own
    # index (a page, or its unread rows)
    'CREATE INDEX "notices_inbox" ON "notices" (tenant_id, user_id, id DESC)',
    'CREATE INDEX "notices_unread" ON "notices" (tenant_id, user_id) WHERE read_at IS NULL',
    'ALTER TABLE "notices" ENABLE ROW LEVEL SECURITY',
    'ALTER TABLE "notices" FORCE ROW LEVEL SECURITY',
    f'CREATE POLICY "notices_read" ON "notices" FOR SELECT USING {CITY_OR_PROVINCE}',
    f'CREATE POLICY "notices_insert" ON "notices" FOR INSERT WITH CHECK {CITY_OR_PROVINCE}',
    f'CREATE POLICY "notices_update" ON "notices" FOR UPDATE USING {CITY_OR_PROVINCE}'
    f" WITH CHECK {CITY_OR_PROVINCE}",
    f'CREATE POLICY "notices_delete" ON "notices" FOR DELETE USING {CITY_OR_PROVINCE}',
]


class Migration(migrations.Migration):
    dependencies = [("notify", "0002_tenancy"), ("platform", "0003_month_partitions")]

    initial = False

    operations = [
        ops.RemoveConstraint(model_name="Notice", name=None, fields=["tenant_id", "send_key"]),
        ops.RunSQL(CONVERT),
        ops.AddConstraint(
            model_name="Notice",
            constraint=UniqueConstraint(fields=("tenant_id", "send_key", "created_at"), name=None),
        ),
    ]
