# ruff: noqa  (a migration is history: frozen literals, excluded from lint)
"""Row-level security in the shape the planner can estimate: this app's policies move
from ``CITY_OR_PROVINCE`` to ``IN_SCOPE`` (hotline.platform.db.rls, module docstring).
They admit exactly the same rows; only the query plans change — PostgreSQL estimated every
city read at about 1 % of its rows and chose plans for that (a page of the newest tickets
sorted all of a city's tickets instead of reading a few off an index). No row is read or
rewritten: each ``ALTER POLICY`` is a catalogue change under a brief exclusive lock of its
table, held to this migration's commit. ``lock_timeout`` bounds the wait for that lock
behind a long query of the serving release (requests would queue behind a waiting lock);
when it expires the migration fails, changes nothing and is run again. Frozen literals:
the table names of this release, the rls builders' frozen output."""

from tortoise import migrations
from tortoise.migrations import operations as ops

from hotline.platform.db.rls import own_user_rows, rescope_policies


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    initial = False

    operations = [
        ops.RunSQL(
            [
                "SET LOCAL lock_timeout = '5s'",
                *rescope_policies("memberships", extra_read=own_user_rows()),
            ]
        ),
    ]
