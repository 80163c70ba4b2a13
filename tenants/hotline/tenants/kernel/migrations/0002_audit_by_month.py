# ruff: noqa  (a migration is history: frozen literals, excluded from lint)
"""The audit log partitioned by month (range on ``created_at``, UTC months;
docs/operations.md "Partitioning"). Frozen as literals.

``audit_events`` becomes ``PARTITION BY RANGE (created_at)``; its primary key is
``(id, created_at)`` (no table references an audit row). Row-level security (enabled and
forced, the append and read policies) is the parent's; each partition has row security
enabled with no policy of its own, so the runtime role reading one directly sees nothing.
Months are made by ``hotline_make_month_partitions`` (platform 0003); rows of a month
without a partition wait in ``audit_events_default``.

The existing rows are copied in this migration's transaction, under an exclusive lock on
the audit log (every login and unmasking appends to it): a large audit log is converted
in a maintenance window (docs/operations.md). The previous release's statements (a plain
INSERT, reads by city and id) run unchanged on the partitioned table.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

from hotline.platform.db.rls import CITY_OR_PROVINCE

_AUDIT_READ = (
    f"({CITY_OR_PROVINCE} OR (current_setting('app.scope', true) = 'province' AND "
    "tenant_id IS NULL AND province_id = NULLIF(current_setting('app.province_id', true), "
    "'')::bigint))"
)

AUDIT = [
    """
DO $do$
DECLARE
    seq text := pg_get_serial_sequence('audit_events', 'id');
    behind int;
BEGIN
    EXECUTE format('ALTER SEQUENCE %s OWNED BY NONE', seq);
    ALTER TABLE audit_events RENAME TO audit_events_plain;
    -- the old table forces RLS on its owner too: without this an owner lacking
    -- BYPASSRLS (no scope set here) would read, copy and keep no row at all
    ALTER TABLE audit_events_plain NO FORCE ROW LEVEL SECURITY;
    CREATE TABLE audit_events (LIKE audit_events_plain INCLUDING DEFAULTS)
        PARTITION BY RANGE (created_at);
    SELECT coalesce((extract(year FROM age(date_trunc('month', now() AT TIME ZONE 'UTC'),
                                          date_trunc('month', min(created_at) AT TIME ZONE 'UTC'))) * 12
                     + extract(month FROM age(date_trunc('month', now() AT TIME ZONE 'UTC'),
                                              date_trunc('month', min(created_at) AT TIME ZONE 'UTC'))))::int, 0)
      INTO behind FROM audit_events_plain;
    CREATE TABLE audit_events_default PARTITION OF audit_events DEFAULT;
    ALTER TABLE audit_events_default ENABLE ROW LEVEL SECURITY;
    -- the months of the existing rows and 3 ahead first, so each row is written once
    PERFORM hotline_make_month_partitions('audit_events', 3, least(greatest(behind, 0), 240));
    INSERT INTO audit_events SELECT * FROM audit_events_plain;
    IF (SELECT count(*) FROM audit_events) <> (SELECT count(*) FROM audit_events_plain) THEN
        RAISE EXCEPTION 'audit_events: the copy into partitions lost rows';
    END IF;
    DROP TABLE audit_events_plain;
    EXECUTE format('ALTER SEQUENCE %s OWNED BY audit_events.id', seq);
END
$do$""",
    'ALTER TABLE "audit_events" ADD CONSTRAINT "audit_events_pkey" PRIMARY KEY (id, created_at)',
    # a city's trail newest first (auditEvents: tenant, id < cursor, by id): each month
    # reads at most a page from this index, where (tenant_id) alone sorted every row
    'CREATE INDEX "audit_events_city" ON "audit_events" (tenant_id, id)',
    'CREATE INDEX "audit_events_scope" ON "audit_events" (province_id, tenant_id, created_at)',
    'ALTER TABLE "audit_events" ENABLE ROW LEVEL SECURITY',
    'ALTER TABLE "audit_events" FORCE ROW LEVEL SECURITY',
    'CREATE POLICY "audit_events_append" ON "audit_events" FOR INSERT WITH CHECK (true)',
    f'CREATE POLICY "audit_events_read" ON "audit_events" FOR SELECT USING {_AUDIT_READ}',
]


class Migration(migrations.Migration):
    dependencies = [("kernel", "0001_initial"), ("platform", "0003_month_partitions")]

    initial = False

    operations = [
        ops.RunSQL(AUDIT),
    ]
