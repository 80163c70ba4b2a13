# ruff: noqa
"""Call records partitioned by month (declarative range partitioning on ``day``), the
first of the append-only tables (docs/operations.md "Partitioning"). Frozen as literals.

A partitioned table's unique keys must contain the partition key: the call's identity
becomes (tenant_id, call_id, day), the primary key (id, day) and the same-city key
(tenant_id, id, day). Partitions are made by ``hotline_month_partitions`` (months ahead
by a worker cron; SECURITY DEFINER, so the runtime role creates none of its own) with
row-level security enabled on each — the parent's policies apply through the parent, a
partition read directly by the runtime role shows nothing; rows of a month without a
partition wait in ``call_records_default`` and move when it is made — and detached by
``hotline_detach_month_partitions``
for retention. The existing rows are copied into the partitioned table in this
migration's transaction.

Corrected after its release, for the databases that had not run it yet (where it ran, it
succeeded as a superuser or an owner with BYPASSRLS, and nothing changes): run by an
owner without BYPASSRLS, the old table's forced row security let the copy read no row
and the table was dropped — every call record lost — and the foreign key to tickets,
validated after the copy, could not see a ticket. Now the old table is ``NO FORCE``
before the copy, the months are made before the rows go in, the keys come before the
copy (each row checked by the referential triggers) and a count check stands before
the drop (tests/upgrade/test_call_records_conversion.py).

Expand/contract: the previous release upserts with ``ON CONFLICT (tenant_id, call_id)``,
which this table can no longer arbitrate; its ``pushCallRecords`` fails until its pods are
replaced (a CTI retries; the push is idempotent). Land the code's conflict target one
release ahead where that window matters (docs/operations.md).
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import UniqueConstraint

_CITY_OR_PROVINCE = (
    "((current_setting('app.scope', true) = 'city' AND tenant_id = "
    "NULLIF(current_setting('app.tenant_id', true), '')::bigint) OR "
    "(current_setting('app.scope', true) = 'province' AND province_id = "
    "NULLIF(current_setting('app.province_id', true), '')::bigint))"
)

_PARTITIONED = "ARRAY['call_records']"

FUNCTIONS = [
    f"""
CREATE OR REPLACE FUNCTION hotline_month_partitions(parent text, months_ahead int,
                                                    months_behind int DEFAULT 0)
RETURNS int LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
DECLARE
    first_month date;
    month date;
    next_month date;
    part text;
    made int := 0;
BEGIN
    IF NOT parent = ANY({_PARTITIONED}) THEN
        RAISE EXCEPTION 'not a month-partitioned table: %', parent;
    END IF;
    IF months_ahead NOT BETWEEN 0 AND 24 OR months_behind NOT BETWEEN 0 AND 240 THEN
        RAISE EXCEPTION 'months out of bounds';
    END IF;
    first_month := (date_trunc('month', current_date) - make_interval(months => months_behind))::date;
    FOR i IN 0 .. months_ahead + months_behind LOOP
        month := (first_month + make_interval(months => i))::date;
        next_month := (month + interval '1 month')::date;
        part := format('%s_p%s', parent, to_char(month, 'YYYYMM'));
        CONTINUE WHEN to_regclass(part) IS NOT NULL;
        -- made beside the parent, filled from the default partition (rows of a month
        -- that had no partition yet), then attached: indexes, keys and foreign keys
        -- are the parent's. Row security is enabled (not forced): the runtime role
        -- reading a partition directly sees nothing; through the parent its policies hold.
        EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS)', part, parent);
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', part);
        EXECUTE format('WITH m AS (DELETE FROM %I WHERE day >= %L AND day < %L RETURNING *) '
                       'INSERT INTO %I SELECT * FROM m',
                       parent || '_default', month, next_month, part);
        EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                       parent, part, month, next_month);
        made := made + 1;
    END LOOP;
    RETURN made;
END
$fn$""",
    f"""
CREATE OR REPLACE FUNCTION hotline_detach_month_partitions(parent text, keep_months int)
RETURNS int LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
DECLARE
    part text;
    made int := 0;
    oldest date;
BEGIN
    IF NOT parent = ANY({_PARTITIONED}) THEN
        RAISE EXCEPTION 'not a month-partitioned table: %', parent;
    END IF;
    IF keep_months < 1 THEN
        RAISE EXCEPTION 'keep at least the current month';
    END IF;
    oldest := (date_trunc('month', current_date) - make_interval(months => keep_months - 1))::date;
    FOR part IN
        SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = parent::regclass AND c.relname ~ '_p[0-9]{{6}}$'
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

CONVERT = [
    """
DO $do$
DECLARE
    behind int;
    c record;
BEGIN
    ALTER TABLE call_records RENAME TO call_records_plain;
    -- its keys' index names are the new table's until it is dropped after the copy
    FOR c IN SELECT conname FROM pg_constraint
             WHERE conrelid = 'call_records_plain'::regclass AND contype IN ('p', 'u') LOOP
        EXECUTE format('ALTER TABLE call_records_plain RENAME CONSTRAINT %I TO %I',
                       c.conname, left(c.conname, 50) || '_plain');
    END LOOP;
    -- the old table forces row security on its owner too: an owner without BYPASSRLS
    -- would read no row, copy nothing and drop them all
    ALTER TABLE call_records_plain NO FORCE ROW LEVEL SECURITY;
    CREATE TABLE call_records (LIKE call_records_plain INCLUDING DEFAULTS)
        PARTITION BY RANGE (day);
    SELECT coalesce((extract(year FROM age(date_trunc('month', current_date),
                                          date_trunc('month', min(day)))) * 12
                     + extract(month FROM age(date_trunc('month', current_date),
                                              date_trunc('month', min(day)))))::int, 0)
      INTO behind FROM call_records_plain;
    CREATE TABLE call_records_default PARTITION OF call_records DEFAULT;
    ALTER TABLE call_records_default ENABLE ROW LEVEL SECURITY;
    -- the months of the existing rows and 3 ahead, made empty: nothing waits in the
    -- default partition, so nothing is moved or validated in one query at an attach
    PERFORM hotline_month_partitions('call_records', 3, least(greatest(behind, 0), 240));
END
$do$""",
    'ALTER TABLE "call_records" ADD CONSTRAINT "call_records_pkey" PRIMARY KEY (id, day)',
    'ALTER TABLE "call_records" ADD CONSTRAINT "call_records_tenant_fk" FOREIGN KEY (tenant_id) '
    'REFERENCES "tenants" (id) ON DELETE RESTRICT',
    'ALTER TABLE "call_records" ADD CONSTRAINT "call_records_tenant_id_id_key" '
    "UNIQUE (tenant_id, id, day)",
    # the keys come before the rows: each copied row is then checked by the referential
    # triggers, past the tickets' forced row security (a validation after the copy reads
    # tickets in one query as this owner, and an owner without BYPASSRLS sees none)
    'ALTER TABLE "call_records" ADD CONSTRAINT "call_records_ticket_id_same_tenant" '
    'FOREIGN KEY (tenant_id, "ticket_id") REFERENCES "tickets" (tenant_id, id) '
    "ON DELETE RESTRICT",
    """
DO $do$
DECLARE
    seq text := pg_get_serial_sequence('call_records_plain', 'id');
    copied bigint;
    kept bigint;
BEGIN
    INSERT INTO call_records SELECT * FROM call_records_plain;
    GET DIAGNOSTICS copied = ROW_COUNT;
    SELECT count(*) INTO kept FROM call_records_plain;
    IF copied <> kept THEN
        RAISE EXCEPTION 'call_records: % rows copied of %; nothing dropped', copied, kept;
    END IF;
    -- the ids' sequence goes with the new table, not with the old one's drop
    EXECUTE format('ALTER SEQUENCE %s OWNED BY call_records.id', seq);
    DROP TABLE call_records_plain;
END
$do$""",
    'ALTER TABLE "call_records" ENABLE ROW LEVEL SECURITY',
    'ALTER TABLE "call_records" FORCE ROW LEVEL SECURITY',
    f'CREATE POLICY "call_records_read" ON "call_records" FOR SELECT USING {_CITY_OR_PROVINCE}',
    f'CREATE POLICY "call_records_insert" ON "call_records" FOR INSERT WITH CHECK {_CITY_OR_PROVINCE}',
    f'CREATE POLICY "call_records_update" ON "call_records" FOR UPDATE USING {_CITY_OR_PROVINCE}'
    f" WITH CHECK {_CITY_OR_PROVINCE}",
    f'CREATE POLICY "call_records_delete" ON "call_records" FOR DELETE USING {_CITY_OR_PROVINCE}',
    'CREATE INDEX "call_records_day" ON "call_records" (tenant_id, day)',
    'CREATE INDEX "call_records_province_day" ON "call_records" (province_id, day)',
]


class Migration(migrations.Migration):
    dependencies = [("statistics", "0005_province_exports")]

    initial = False

    operations = [
        ops.RemoveConstraint(
            model_name="CallRecord",
            name=None,
            fields=["tenant_id", "call_id"],
        ),
        ops.RunSQL(FUNCTIONS),
        ops.RunSQL(CONVERT),
        ops.AddConstraint(
            model_name="CallRecord",
            constraint=UniqueConstraint(fields=("tenant_id", "call_id", "day"), name=None),
        ),
    ]
