"""Keyword search on a city's tickets (issue 11.7): trigram indexes on the content and
the address, so a search's ``content ILIKE '%…%'`` / ``address ILIKE '%…%'`` of three
or more characters reads an index at millions of tickets instead of the city's table
(a keyword of one or two characters has no trigram: it still reads by the newest-first
index and filters). Frozen literals."""

from tortoise import migrations
from tortoise.migrations import operations as ops

SQL = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    'CREATE INDEX "tickets_content_trgm" ON "tickets" USING gin (content gin_trgm_ops)',
    'CREATE INDEX "tickets_address_trgm" ON "tickets" USING gin (address gin_trgm_ops)',
]


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]

    initial = False

    operations = [ops.RunSQL(SQL)]
