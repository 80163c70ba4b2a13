# ruff: noqa  (a migration is history: frozen literals, excluded from lint)
"""Monthly partitions for every append-only table (docs/operations.md "Partitioning"), and
the archive of delivered outbox messages, partitioned by month. Frozen as literals.

The functions every month-partitioned table shares (the platform's migrations come first,
so every app's migration can depend on this one):

- ``hotline_month_key(parent)``: the partition key column of ``parent`` when it is a table
  of the caller (inside the functions below: the migration owner) range-partitioned on
  one ``date`` or ``timestamptz`` column; otherwise an error. That is the whole allow
  list: the runtime role owns no table, and only migrations partition one.
- ``hotline_make_month_partitions(parent, ahead, behind)``: makes the missing months from
  ``behind`` months back to ``ahead`` months ahead (UTC months), moving rows of such a
  month out of ``<parent>_default`` first (that partition's user triggers, e.g. the
  timeline's append-only one, are off for the move only), attaching the month, then
  putting the rows into it (its foreign keys check them one by one).
- ``hotline_detach_month_partitions_of(parent, keep)``: detaches the months older than the
  ``keep`` most recent; a detached month keeps its rows, outside every query.

Both are SECURITY DEFINER, so the runtime worker keeps partitions without owning a table.
Statistics' ``hotline_month_partitions`` / ``hotline_detach_month_partitions`` (its 0006,
``call_records`` only) are left as they are for the previous release's nightly cron; the
code now calls these, and a later release drops the old two (expand/contract).

``outbox_delivered``: delivered messages leave the hot ``outbox`` table for this archive
(``hotline.platform.outbox.store.archive_delivered``, a worker cron), partitioned by the
message's ``created_at``: primary key ``(id, created_at)``, and an index on the send key,
which writing a message checks besides the hot table's unique key, so a send key is still
written once. Infrastructure like the outbox: no row-level security on the parent (its
partitions have it enabled with no policy, as every month partition). A new table only:
the previous release keeps writing and settling ``outbox`` as before (expand).
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

FUNCTIONS = [
    """
CREATE OR REPLACE FUNCTION hotline_month_key(parent text, OUT key text, OUT keytype text)
LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $fn$
BEGIN
    SELECT a.attname, format_type(a.atttypid, NULL) INTO key, keytype
      FROM pg_partitioned_table p
      JOIN pg_class c ON c.oid = p.partrelid
      JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
     WHERE c.relname = parent AND c.relnamespace = 'public'::regnamespace
       AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
       AND p.partstrat = 'r' AND p.partnatts = 1
       AND a.atttypid IN ('date'::regtype, 'timestamptz'::regtype);
    IF key IS NULL THEN
        RAISE EXCEPTION 'not a month-partitioned table: %', parent;
    END IF;
END
$fn$""",
    """
CREATE OR REPLACE FUNCTION hotline_make_month_partitions(parent text, months_ahead int,
                                                         months_behind int DEFAULT 0)
RETURNS int LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
DECLARE
    key text;
    keytype text;
    moving boolean;
    this_month date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
    month date;
    lo text;
    hi text;
    part text;
    dflt text := parent || '_default';
    made int := 0;
BEGIN
    SELECT * INTO STRICT key, keytype FROM hotline_month_key(parent);
    IF months_ahead NOT BETWEEN 0 AND 24 OR months_behind NOT BETWEEN 0 AND 240 THEN
        RAISE EXCEPTION 'months out of bounds';
    END IF;
    FOR i IN -months_behind .. months_ahead LOOP
        month := (this_month + make_interval(months => i))::date;
        part := format('%s_p%s', parent, to_char(month, 'YYYYMM'));
        CONTINUE WHEN to_regclass(part) IS NOT NULL;
        -- a timestamptz key is split at UTC midnight, whatever the session's time zone
        lo := CASE WHEN keytype = 'date' THEN month::text ELSE month::text || ' 00:00:00+00' END;
        hi := CASE WHEN keytype = 'date' THEN (month + interval '1 month')::date::text
                   ELSE (month + interval '1 month')::date::text || ' 00:00:00+00' END;
        -- made beside the parent and attached empty: indexes, keys, foreign keys and
        -- triggers are the parent's. Row security is enabled (not forced): the runtime
        -- role reading a partition directly sees nothing; through the parent its
        -- policies hold.
        EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS)', part, parent);
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', part);
        moving := false;
        IF to_regclass(dflt) IS NOT NULL THEN
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE %I >= %L AND %I < %L)',
                           dflt, key, lo, key, hi) INTO STRICT moving;
        END IF;
        IF moving THEN
            -- rows of the month that had no partition yet leave the default partition
            -- first (the month cannot be attached while it holds them), aside
            EXECUTE format('CREATE TEMP TABLE hotline_month_moving (LIKE %I)', parent);
            EXECUTE format('ALTER TABLE %I DISABLE TRIGGER USER', dflt);
            EXECUTE format('WITH m AS (DELETE FROM %I WHERE %I >= %L AND %I < %L RETURNING *) '
                           'INSERT INTO pg_temp.hotline_month_moving SELECT * FROM m',
                           dflt, key, lo, key, hi);
            EXECUTE format('ALTER TABLE %I ENABLE TRIGGER USER', dflt);
        END IF;
        EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                       parent, part, lo, hi);
        IF moving THEN
            -- ... and come back into their month once attached, so its foreign keys
            -- check each row as referential triggers do, past the referenced table's
            -- forced row security. Filled before attaching, the attach's one-query
            -- validation would read that table as this owner, whom FORCE shows no
            -- row unless it has BYPASSRLS.
            EXECUTE format('INSERT INTO %I SELECT * FROM pg_temp.hotline_month_moving', part);
            DROP TABLE pg_temp.hotline_month_moving;
        END IF;
        made := made + 1;
    END LOOP;
    RETURN made;
END
$fn$""",
    """
CREATE OR REPLACE FUNCTION hotline_detach_month_partitions_of(parent text, keep_months int)
RETURNS int LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
DECLARE
    part text;
    made int := 0;
    oldest date;
BEGIN
    PERFORM hotline_month_key(parent);
    IF keep_months < 1 THEN
        RAISE EXCEPTION 'keep at least the current month';
    END IF;
    oldest := (date_trunc('month', now() AT TIME ZONE 'UTC')
               - make_interval(months => keep_months - 1))::date;
    FOR part IN
        SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = parent::regclass AND c.relname ~ '_p[0-9]{6}$'
          AND to_date(right(c.relname, 6), 'YYYYMM') < oldest
        ORDER BY c.relname
    LOOP
        EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', parent, part);
        made := made + 1;
    END LOOP;
    RETURN made;
END
$fn$""",
]

OUTBOX_DELIVERED = [
    """
CREATE TABLE outbox_delivered (
    id bigint NOT NULL,
    created_at timestamptz NOT NULL,
    tenant_id bigint,
    province_id bigint,
    kind varchar(20) NOT NULL,
    payload jsonb NOT NULL,
    send_key varchar(160) NOT NULL,
    attempts smallint NOT NULL,
    sent_at timestamptz NOT NULL,
    archived_at timestamptz NOT NULL DEFAULT now()
) PARTITION BY RANGE (created_at)""",
    "CREATE TABLE outbox_delivered_default PARTITION OF outbox_delivered DEFAULT",
    "ALTER TABLE outbox_delivered_default ENABLE ROW LEVEL SECURITY",
    "SELECT hotline_make_month_partitions('outbox_delivered', 3)",
    'ALTER TABLE "outbox_delivered" ADD CONSTRAINT "outbox_delivered_pkey" PRIMARY KEY (id, created_at)',
    'CREATE INDEX "outbox_delivered_send_key" ON "outbox_delivered" (send_key)',
]


class Migration(migrations.Migration):
    dependencies = [("platform", "0002_outbox")]

    initial = False

    operations = [
        ops.RunSQL(FUNCTIONS),
        ops.RunSQL(OUTBOX_DELIVERED),
    ]
