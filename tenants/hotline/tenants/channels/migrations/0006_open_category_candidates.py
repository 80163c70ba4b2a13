# ruff: noqa  (a migration is history: frozen literals, excluded from lint)
"""The duplicate detector's category candidates — the newest open tickets of the new
ticket's category received in the last week, read by every creation's opening statement
(tickets/intake.py) — on an index of the open tickets only, in the order the read takes
them. Through ``channels_tickets_category`` (every ticket of the category) a busy
category's closed tickets were filtered out row by row: at 5,000,000 tickets, 113,000
rows and 64 ms a creation. The statuses are the open ones of this release (``flow.OPEN``,
frozen here; tests/channels/test_candidate_index.py checks they still agree), and the
opening writes them into its text so that every plan can use the index.

``channels_tickets_phone`` goes: ``tickets_caller`` (tickets 0001) holds the same
columns, so it only cost every creation a write. ``channels_tickets_category`` stays for
the previous release, whose opening passes the statuses as a parameter; the next
release drops it. Built and dropped ``CONCURRENTLY`` (not atomic; a failed build's
INVALID index is dropped and built again when the migration runs again)."""

from tortoise import migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("channels", "0005_estimable_policies")]

    initial = False
    atomic = False

    operations = [
        ops.RunSQL(
            [
                'DROP INDEX CONCURRENTLY IF EXISTS "channels_tickets_category_open"',
                'CREATE INDEX CONCURRENTLY "channels_tickets_category_open" ON "tickets" '
                "(tenant_id, category_id, received_at DESC, id DESC) "
                "WHERE status IN ('accepted', 'dispatched', 'received', 'reopened', "
                "'replied', 'returned', 'revisit')",
                'DROP INDEX CONCURRENTLY IF EXISTS "channels_tickets_phone"',
            ],
            atomic=False,
        ),
    ]
