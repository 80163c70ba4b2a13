# ruff: noqa  (a migration is history: frozen literals, excluded from lint)
"""``hotline_make_month_partitions`` attaches a month before putting into it the rows that
waited in the default partition (docs/operations.md "Partitioning").

It filled the month first and attached it after: the attach validates the month's
foreign keys in one query, which reads the referenced table (e.g. ``tickets``) as the
function's owner, and under FORCE ROW LEVEL SECURITY an owner without BYPASSRLS sees no
row there — the attach failed as if every waiting row were orphaned. Inserted after the
attach, each row is checked by the referential triggers instead, past row security.
0003 carries the same definition for new databases; this one replaces the function
where 0003 already ran. Frozen literal.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

MAKE_MONTH_PARTITIONS = """
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
$fn$"""


class Migration(migrations.Migration):
    dependencies = [("platform", "0003_month_partitions")]

    initial = False

    operations = [ops.RunSQL(MAKE_MONTH_PARTITIONS)]
