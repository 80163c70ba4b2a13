# ruff: noqa  (a migration is history: frozen literals, excluded from lint)
"""Keyword search on an index under row-level security (docs/inbox-and-search.md
"Keyword search"). Frozen as literals.

Under FORCE ROW LEVEL SECURITY the planner uses a condition of the query as an index
condition only when its operator is leakproof; ``ILIKE``, ``@@`` and ``@>`` are not, so
for the runtime role every text index is skipped and the city's tickets are read. Here:

- ``hotline_ticket_terms(content, address)``: the text's character bigrams plus the
  last character of each run (so every character starts some term), lower-cased; a GIN
  index on that expression. PostgreSQL maintains it in the statement that writes the
  ticket (creation, transfer, seeds, bulk loads): no code path can forget it.
- ``hotline_ticket_search(keyword, cap, counted, size, newest_first, before_at,
  before_id)``: which of the current scope's tickets a search must look at. Found on the
  GIN index: the tickets whose terms hold every bigram of the keyword (a one-character
  word: a term starting with it); all their ids when at most ``cap`` (``complete``);
  else, newest first, the newest ``size`` of them before the cursor, taken from at most
  ``counted`` found, or — a common word — by walking the received-time index with
  ``ILIKE``; in another order, none. SECURITY DEFINER, owned by the NOLOGIN role
  ``hotline_ticket_search``, which may read six columns of ``tickets`` and has a policy
  of its own (``USING (true)``): with no tenant condition before them, the GIN index and
  the terms' statistics are usable. The city comes from the scope settings the pool hook
  writes, never from the caller; no scope, no rows.

The caller's query keeps the wall: it reads ``tickets`` as the runtime role, under RLS,
with ``id = ANY(<the ids>)`` (int8 equality is leakproof, so the primary key serves it)
and the ``ILIKE`` as a recheck, so an id of another city could never come back, and
bigram false positives are dropped.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

# Whitespace of any kind is one separator; "(..)" cuts the text in pairs from offset 0
# and from offset 1: together every bigram, and the last character of each run alone.
_NORMAL = "translate(lower({text}), E'\\n\\r\\t\\u3000', '    ') || ' '"
_TERMS = (
    "array_to_tsvector(array_remove(string_to_array("
    "regexp_replace({n}, '(..)', '\\1 ', 'g') || ' ' || "
    "regexp_replace(substr({n}, 2), '(..)', '\\1 ', 'g'), ' '), ''))"
).format(n=_NORMAL.format(text="content || ' ' || address"))

SQL = [
    f"""
CREATE FUNCTION hotline_ticket_terms(content text, address text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN {_TERMS}""",
    # The keyword's bigrams (all must be there); a one-character word: any term starting
    # with it. Lexemes quoted for tsquery_in ('' and \\ escaped).
    """
CREATE FUNCTION hotline_ticket_query(keyword text) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT string_agg(
           '''' || replace(replace(g, '\\', '\\\\'), '''', '''''') || ''''
           || CASE WHEN length(g) = 1 THEN ':*' ELSE '' END, ' & ')::tsquery
  FROM unnest(tsvector_to_array(hotline_ticket_terms(keyword, ''))) AS g
  WHERE length(g) = 2
     OR g = ANY (string_to_array(translate(lower(keyword), E'\\n\\r\\t\\u3000', '    '), ' '));
END""",
    'CREATE INDEX "tickets_terms" ON "tickets" USING gin (hotline_ticket_terms(content, address))',
    """
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hotline_ticket_search') THEN
    CREATE ROLE hotline_ticket_search NOLOGIN NOBYPASSRLS;
  END IF;
END $$""",
    # the migrating role hands the function over to it
    "GRANT hotline_ticket_search TO CURRENT_USER",
    "GRANT USAGE ON SCHEMA public TO hotline_ticket_search",
    "GRANT SELECT (id, tenant_id, province_id, content, address, received_at) ON tickets "
    "TO hotline_ticket_search",
    'CREATE POLICY "tickets_search" ON "tickets" FOR SELECT TO hotline_ticket_search '
    "USING (true)",
    # EXECUTE: each call is planned for its keyword. A word held by more than `counted`
    # tickets is walked in received order (the sort is turned off for this function: the
    # planner's ILIKE estimate, a heuristic, takes a common word for a rare one and would
    # sort a scan of the city); fewer, and their ids come from the GIN index. Measured at
    # 5,000,000 tickets: with a common word the planner would rather compute the terms of
    # every row than read the index (sequential scans off), and a bitmap of 500,000 rows
    # went lossy in 4 MB, each row of a lossy page rechecked at ~60 µs (work_mem 32 MB).
    r"""
CREATE FUNCTION hotline_ticket_search(
    keyword text, cap integer, counted integer, size integer, newest_first boolean,
    before_at timestamptz, before_id bigint, OUT ids bigint[], OUT complete boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
SET enable_sort = off SET enable_seqscan = off SET work_mem = '32MB' AS $fn$
DECLARE
  scope text := current_setting('app.scope', true);
  owner_column text := 'tenant_id';
  owner_id bigint := NULLIF(current_setting('app.tenant_id', true), '')::bigint;
  ats timestamptz[];
  found integer;
  first integer;
  pattern text;
BEGIN
  IF scope = 'province' THEN
    owner_column := 'province_id';
    owner_id := NULLIF(current_setting('app.province_id', true), '')::bigint;
  ELSIF scope IS DISTINCT FROM 'city' THEN
    owner_id := NULL;
  END IF;
  complete := true;
  ids := '{}';
  IF owner_id IS NULL THEN
    RETURN;
  END IF;
  -- the tickets holding every bigram of the keyword, newest first, up to counted + 1
  EXECUTE format('SELECT array_agg(hit.id ORDER BY hit.received_at DESC, hit.id DESC), '
                 'array_agg(hit.received_at ORDER BY hit.received_at DESC, hit.id DESC) '
                 'FROM (SELECT t.id, t.received_at FROM tickets t '
                 'WHERE hotline_ticket_terms(t.content, t.address) @@ hotline_ticket_query($1) '
                 'AND t.%I = $2 LIMIT $3) AS hit', owner_column)
    INTO ids, ats USING keyword, owner_id, counted + 1;
  ids := coalesce(ids, '{}');
  found := cardinality(ids);
  IF found <= cap THEN
    RETURN;
  END IF;
  complete := false;
  IF NOT newest_first THEN
    ids := NULL;
    RETURN;
  END IF;
  IF found <= counted THEN
    -- the newest size of them before the cursor
    first := 1;
    IF before_at IS NOT NULL THEN
      WHILE first <= found AND (ats[first] > before_at
                                OR (ats[first] = before_at AND ids[first] >= before_id)) LOOP
        first := first + 1;
      END LOOP;
    END IF;
    ids := coalesce(ids[first:first + size - 1], '{}');
    RETURN;
  END IF;
  -- a common word: the newest size tickets holding it, walking the received-time index
  pattern := '%' || replace(replace(replace(keyword, '\', '\\'), '%', '\%'), '_', '\_') || '%';
  EXECUTE format('SELECT coalesce(array_agg(w.id), ''{}'') FROM (SELECT t.id FROM tickets t '
                 'WHERE t.%I = $1 AND (t.content ILIKE $2 OR t.address ILIKE $2) %s '
                 'ORDER BY t.received_at DESC, t.id DESC LIMIT $5) AS w', owner_column,
                 CASE WHEN before_at IS NULL THEN '' ELSE
                   'AND t.received_at <= $3 AND (t.received_at < $3 OR t.id < $4)' END)
    INTO ids USING owner_id, pattern, before_at, before_id, size;
END
$fn$""",
    # a new owner needs CREATE on the schema at the moment it takes the function over
    "GRANT CREATE ON SCHEMA public TO hotline_ticket_search",
    "ALTER FUNCTION hotline_ticket_search(text, integer, integer, integer, boolean, "
    "timestamptz, bigint) "
    "OWNER TO hotline_ticket_search",
    "REVOKE CREATE ON SCHEMA public FROM hotline_ticket_search",
]


class Migration(migrations.Migration):
    dependencies = [("tickets", "0002_timeline_by_month")]  # noqa: RUF012

    operations = [ops.RunSQL(SQL)]  # noqa: RUF012
