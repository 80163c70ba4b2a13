# ruff: noqa  (a migration is history: frozen literals, excluded from lint)
"""Row-level security in the shape the planner can estimate: this app's policies move
from ``CITY_OR_PROVINCE`` to ``IN_SCOPE`` (hotline.platform.db.rls, module docstring).
They admit exactly the same rows; only the estimates change — PostgreSQL planned every
city read for 0.5-1 % of the table, whatever the city's share of it. No row is read or
rewritten: each ``ALTER POLICY`` is a catalogue change under a brief exclusive lock of its
table. Not atomic: each statement is a transaction of its own (``each_alone``) and holds
one table's lock for that change only, waiting at most 5 s for it behind a long query of
the serving release (requests arriving meanwhile queue behind the waiting lock for that
long at most). When a wait expires the migration stops; the policies already moved admit the
same rows as the others, and running it again moves the rest. Frozen literals: the table
names of this release, the rls builders' frozen output."""

from tortoise import migrations
from tortoise.migrations import operations as ops

from hotline.platform.db.rls import each_alone, rescope_policies


class Migration(migrations.Migration):
    dependencies = [("categories", "0001_initial")]

    initial = False
    atomic = False

    operations = [
        ops.RunSQL(
            each_alone(
                [
                    *rescope_policies("categories"),
                ]
            ),
            atomic=False,
        ),
    ]
