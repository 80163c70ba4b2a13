# ruff: noqa  (a migration is history: frozen literals, excluded from lint)
"""The two ticket facts a day's recompute still found by reading every ticket of the city
(docs/statistics.md, "Recompute cost"): the direct answers by ``answered_at`` and the
grades by ``coalesce(revisited_at, closed_at)`` had no index (migration 0001 gave one to
``received_at``, ``closed_at`` and the lead assignments' moments), so each of the
worker's days read every ticket of the city twice through the tenant index (at 5,000,000
tickets in one city: the whole table, twice). Two partial indexes, each as small as the
facts it finds: the tickets answered directly by ``answered_at``, the graded tickets by
``revisited_at`` (the recompute splits the grade's window into "revisited in it" or "not
revisited and closed in it", the second on ``stats_tickets_closed``: a condition on a
``coalesce`` is not leakproof, so under row-level security an index on the coalesce was
never used). Both match the recompute's conditions (``t.direct_answer`` and
``t.satisfaction IS NOT NULL`` imply the predicates; the window's int8 ``=`` and
timestamptz ``>=`` / ``<`` are leakproof, so under row-level security they stay index
conditions).

**CONCURRENTLY, and what it means for the upgrade.** ``tickets`` is the biggest and the
busiest table (20 creations/s sustained, every stage an update), and the migration Job
runs while the previous release serves (docs/operations.md, "Migrations while the
previous release serves"). A plain ``CREATE INDEX`` holds a SHARE lock for the whole build
— every ticket write of the province waits, for tens of seconds per index at 5,000,000
rows. ``CREATE INDEX CONCURRENTLY`` takes only SHARE UPDATE EXCLUSIVE (writes go on):
it reads the table twice and waits for the transactions older than each phase, so the
migration takes longer and a long transaction (an export's read) delays it. It cannot run
in a transaction: this migration is not atomic, and each statement runs on its own. A
build that fails (a cancelled Job) leaves an INVALID index behind, which is why each
index is dropped ``IF EXISTS`` (also concurrently) before it is built: running the
migration again repairs it. Until the Job has finished, the previous and the new release
recompute as before (the indexes only make the same statements cheaper); nothing reads or
writes anything new. Frozen literals.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("statistics", "0008_export_heartbeat")]

    initial = False
    atomic = False

    operations = [
        ops.RunSQL(
            [
                'DROP INDEX CONCURRENTLY IF EXISTS "stats_tickets_answered"',
                'CREATE INDEX CONCURRENTLY "stats_tickets_answered" ON "tickets" '
                "(tenant_id, answered_at) WHERE direct_answer",
                'DROP INDEX CONCURRENTLY IF EXISTS "stats_tickets_revisited"',
                'CREATE INDEX CONCURRENTLY "stats_tickets_revisited" ON "tickets" '
                "(tenant_id, revisited_at) WHERE satisfaction IS NOT NULL",
            ],
            atomic=False,
        ),
    ]
