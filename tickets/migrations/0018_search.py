"""Technician search (issue 14): Chinese and English words of descriptions and timeline
texts, as full text with Chinese cut into two-character pieces (tickets/search.py says
why, with the measurements against pg_trgm).

PostgreSQL only: on SQLite the search falls back to icontains and nothing is created.
The indexes are built CONCURRENTLY, so filing goes on while a large table is indexed.
"""

from django.db import migrations

# Every run of Chinese characters becomes its overlapping two-character pieces, in
# order; the rest is cut into runs of letters and digits, exactly as tickets.search cuts
# a query (the parser alone would read "PD-000045" as "pd" and the number -45).
# IMMUTABLE: it depends on its argument only, so it can be an index expression.
WORDS_FUNCTION = r"""
CREATE OR REPLACE FUNCTION posdesk_search_words(doc text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT regexp_replace(
      regexp_replace(doc, '[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+', ' ', 'g'),
      '[^[:alnum:]]+', ' ', 'g')
    || ' ' || coalesce((
      SELECT string_agg(substr(run.m[1], i, 2), ' ' ORDER BY run.n, i)
      FROM regexp_matches(doc, '([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)', 'g')
             WITH ORDINALITY AS run(m, n),
           generate_series(1, greatest(char_length(run.m[1]) - 1, 1)) AS i
    ), '')
$$
"""

# The search's description branch (tickets.search._search_postgresql).
TICKET_INDEX = """
CREATE INDEX CONCURRENTLY IF NOT EXISTS ticket_search_words ON tickets_ticket
USING gin (to_tsvector('simple'::regconfig,
                       posdesk_search_words(description || ' ' || callback_phone)))
"""
# The search's timeline branch: only what people write (replies, notes, questions, the
# merchant's answers, resolution notes), so routing and claiming events cost nothing.
EVENT_INDEX = """
CREATE INDEX CONCURRENTLY IF NOT EXISTS event_search_words ON tickets_ticketevent
USING gin (to_tsvector('simple'::regconfig, posdesk_search_words(body)))
WHERE kind IN ('reply', 'note', 'question', 'merchant_reply', 'resolved') AND body <> ''
"""


def forwards(apps, schema_editor) -> None:  # noqa: ANN001
    if schema_editor.connection.vendor != "postgresql":
        return
    for sql in (WORDS_FUNCTION, TICKET_INDEX, EVENT_INDEX):
        schema_editor.execute(sql)


def backwards(apps, schema_editor) -> None:  # noqa: ANN001
    if schema_editor.connection.vendor != "postgresql":
        return
    for sql in (
        "DROP INDEX CONCURRENTLY IF EXISTS event_search_words",
        "DROP INDEX CONCURRENTLY IF EXISTS ticket_search_words",
        "DROP FUNCTION IF EXISTS posdesk_search_words(text)",
    ):
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("tickets", "0017_repair_event_kinds"),
    ]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
