# ruff: noqa  (a migration is history: frozen literals, excluded from lint)
"""Call records keep their partitions through the functions every month-partitioned table
shares (platform 0003, docs/operations.md "Partitioning"). Frozen as literals.

0006's ``hotline_month_partitions`` / ``hotline_detach_month_partitions`` stay, for the
previous release's nightly cron, as wrappers of the shared functions: one implementation,
the same answers for ``call_records`` (its months are now UTC months, as every table's).
A later release drops them (expand/contract).
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

WRAPPERS = [
    """
CREATE OR REPLACE FUNCTION hotline_month_partitions(parent text, months_ahead int,
                                                    months_behind int DEFAULT 0)
RETURNS int LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
    SELECT hotline_make_month_partitions(parent, months_ahead, months_behind)
$fn$""",
    """
CREATE OR REPLACE FUNCTION hotline_detach_month_partitions(parent text, keep_months int)
RETURNS int LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
    SELECT hotline_detach_month_partitions_of(parent, keep_months)
$fn$""",
]


class Migration(migrations.Migration):
    dependencies = [("statistics", "0006_call_records_by_month"), ("platform", "0003_month_partitions")]

    initial = False

    operations = [ops.RunSQL(WRAPPERS)]
