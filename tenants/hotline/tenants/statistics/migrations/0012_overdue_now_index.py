# ruff: noqa  (a migration is history: frozen literals, excluded from lint)
"""``overdueNow`` — the top-level lead assignments still owing their reply past their
deadline, counted live by every dashboard read (docs/statistics.md, "How a city dashboard
reads") — had no index of its own: the count read every assignment of the city through
``assignments_due`` or the tenant index and filtered the lead, round, pause and status
conditions row by row (at 1,000,000 tickets over 14 cities: 68,000 rows a city, two
thirds of a cached dashboard read; 950,000 for the province roll-up). A partial index
holding exactly those assignments, by city and reply deadline, with the province (the
row-level-security policy's other column) and the department (the subtree read's join)
included: an index-only scan of the owing work only. Built ``CONCURRENTLY`` like
migration 0009 (not atomic; a failed build's INVALID index is dropped and built again
when the migration runs again); nothing reads or writes anything new until it exists.
Frozen literals: the statuses are ``metrics.ACTIVE_ASSIGNMENT`` of this release (a test
checks they still agree)."""

from tortoise import migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("statistics", "0011_monthly_departments")]

    initial = False
    atomic = False

    operations = [
        ops.RunSQL(
            [
                'DROP INDEX CONCURRENTLY IF EXISTS "stats_assignments_owing"',
                'CREATE INDEX CONCURRENTLY "stats_assignments_owing" ON "assignments" '
                "(tenant_id, reply_deadline) INCLUDE (province_id, department_id) "
                "WHERE is_lead AND parent_id IS NULL AND paused_at IS NULL "
                "AND status IN ('pending_sign', 'signed', 'return_requested')",
            ],
            atomic=False,
        ),
    ]
