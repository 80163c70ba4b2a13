# ruff: noqa  (a migration is history: frozen literals, excluded from lint)
"""Contract: statistics 0006's ``hotline_month_partitions`` and
``hotline_detach_month_partitions`` (``call_records`` only) go. Since platform 0003 every
month-partitioned table, ``call_records`` included, is kept by
``hotline_make_month_partitions`` / ``hotline_detach_month_partitions_of``; 0006's two
stayed for the release whose nightly cron still called them (stop 21). The previous
release (stop 22, tests/upgrade) calls neither, so dropping them cannot break a pod that
still serves. Frozen literals."""

from tortoise import migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("statistics", "0009_day_recompute_indexes")]

    initial = False

    operations = [
        ops.RunSQL(
            [
                "DROP FUNCTION IF EXISTS hotline_month_partitions(text, int, int)",
                "DROP FUNCTION IF EXISTS hotline_detach_month_partitions(text, int)",
            ]
        ),
    ]
