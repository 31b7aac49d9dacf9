"""Technician search (issue 14): reference, serial, merchant name and phone, and the words
of the description and of the timeline, in Chinese and English, inside one provider's
queues, ranked and paged.

Why full-text search with Chinese bigrams, and not pg_trgm
---------------------------------------------------------
PostgreSQL's default text-search parser does not segment Chinese: "屏幕不亮，电源灯一直闪"
becomes two lexemes, so a search for 屏幕 finds nothing. pg_trgm does see Chinese, but
a trigram index can only serve a pattern of three characters or more, and Chinese words
are mostly two: 卡纸 (paper jam), 闪退 (app crash), 退款 (refund), 屏幕 (screen).

Measured on 1,000,000 generated fault descriptions (bench/w7.py's texts, 70 % Chinese)
and 1,000,000 timeline texts, in a scratch database (2 shared cores, PostgreSQL 15,
C.UTF-8), scoped to the busiest provider (34 %): a page of the 26 newest matches,
median of 7 runs, with how many matches there are in scope:

==================  ======  ==============  ===========  =====================
query               found   pg_trgm, ILIKE  FTS simple   FTS Chinese bigrams
==================  ======  ==============  ===========  =====================
卡纸 (2 chars)       12,565  788 ms          0 found      37 ms (47 with check)
闪退 (2)             4,193   881 ms          0 found      16 ms
退款 (2)             6,199   1,353 ms        0 found      18 ms (22)
打印机 (3)           12,565  31 ms           0 found      21 ms AND, 43 ms checked
读卡器 (3)           12,388  31 ms           0 found      22 ms, 41 ms checked
通讯超时 (4)         8,167   26 ms           0 found      15 ms, 31 ms checked
小票打不出来 (6)     12,565  33 ms           12,565 *     26 ms, 50 ms checked
printer              7,125   26 ms           18 ms        21 ms
==================  ======  ==============  ===========  =====================

(* only because the whole clause happens to be one lexeme.) pg_trgm cannot use its
index for two characters and reads the whole table; the default parser finds no Chinese
word inside a sentence at all. Bigrams as a phrase (打印 <-> 印机) were 297-370 ms for
three characters or more: a phrase needs positions, which GIN does not keep, so every
candidate row's words were recomputed. So the pieces are ANDed (exact in the index) and
a Chinese word of three or more characters is then checked with ILIKE on the candidate
rows ("checked" above), which keeps the result exact. Index sizes: trigram 73 MB, bigram
35 MB, default parser 15 MB; building them 28 s, 77 s, 14 s.

So the text is indexed as full text, with every run of Chinese characters turned into
its overlapping two-character pieces by the SQL function `posdesk_search_words`
(migration 0018): 打印机卡纸 → 打印 印机 机卡 卡纸, the rest cut into words of letters
and digits. A two-character word is one lexeme of the index; a longer one is all its
pieces (打印 & 印机) and then the word itself (ILIKE) on those rows; one character is a
prefix of a piece (屏:*, so not a character that only ends a run); English words and
numbers are prefixes (print:* finds printer). This is the CJK bigram method of Lucene's
CJKAnalyzer and of pg_bigm, done with PostgreSQL's own full-text search.

Through the page at 1,000,000 tickets (bench W7, bench/RESULTS.md): p50 about 100 ms,
but p99 over 400 ms, set by the commonest words (屏幕 in one ticket of eight): every hit
in scope is read to rank and count it. RESULTS.md says what would move it.

Writes stay cheap: two expression GIN indexes, the ticket's description and the
timeline texts people write (partial: replies, notes, questions, the merchant's answers,
resolution notes; the routing and claiming events, most of the timeline, are not in it).
GIN's pending list (fastupdate) takes a filing's entries in one append. No extra column.
Measured: an insert 0.44 ms against 0.24 ms without the index (0.27 ms with pg_trgm's).

Identifiers are substrings (a phone's last four digits, part of a serial): they are
matched with ILIKE on the merchants' and terminals' tables, which are small (one row per
shop or terminal, not per ticket), so a scan of them is cheap. The reference is
matched by equality (its unique index), also typed as a bare number (123 → PD-000123).

Ranking: where the query was found, most specific first: the exact reference or serial,
then a serial, a merchant's name or phone containing it, then the description, then the
timeline; newest first within each. Counted with the page in one statement.

Scope: tickets in the provider's queues; timeline texts the technician may read there,
the same rule as the ticket page (public, or written while the ticket was with this
provider, or by nobody's queue): another provider's internal notes on a ticket that
was transferred are never searched.

On any database but PostgreSQL (the SQLite of `make run`), `_search_portable` does the
same with `icontains` and no index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import connection
from django.db.models import Case, Exists, IntegerField, OuterRef, Q, QuerySet, Value, When

from devices.models import Device, Merchant, Provider
from tickets.models import Queue, Ticket, TicketEvent, format_reference

# What a person wrote on a timeline: the kinds whose `body` is searched (the partial
# index `event_search_words` holds exactly these).
TEXT_KINDS = (
    TicketEvent.Kind.REPLY,
    TicketEvent.Kind.NOTE,
    TicketEvent.Kind.QUESTION,
    TicketEvent.Kind.MERCHANT_REPLY,
    TicketEvent.Kind.RESOLVED,
)
# The expressions and the predicate of the indexes `ticket_search_words` and
# `event_search_words` (migration 0018), for tables aliased `t` and `e`.
# tests/test_work_search.py checks that PostgreSQL matches them.
TICKET_WORDS = (
    "to_tsvector('simple'::regconfig,"
    " posdesk_search_words(t.description || ' ' || t.callback_phone))"
)
EVENT_WORDS = "to_tsvector('simple'::regconfig, posdesk_search_words(e.body))"
EVENT_TEXTS = "e.kind IN ({}) AND e.body <> ''".format(", ".join(f"'{k}'" for k in TEXT_KINDS))
QUERY_MAX = 100
WORDS_MAX = 8

# Where a hit was found; lower ranks first.
RANK_EXACT, RANK_IDENTITY, RANK_DESCRIPTION, RANK_TIMELINE = 0, 1, 2, 3

# CJK unified ideographs, extension A and compatibility ideographs: the same ranges as
# `posdesk_search_words` in migration 0018.
CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_PIECES = re.compile(rf"[{CJK}]+|(?:(?![{CJK}])[^\W_])+")
_REFERENCE = re.compile(r"^(?:PD-?)?0*([1-9][0-9]{0,8})$", re.IGNORECASE)


@dataclass
class Found:
    """One page of hits: ticket ids in rank order, and how many there are in all."""

    ids: list[int]
    total: int


def normalise(query: str) -> str:
    return " ".join(query.split())[:QUERY_MAX]


def reference_for(query: str) -> str | None:
    """The reference a query names: PD-000123, pd-123 or 123."""
    match = _REFERENCE.match(query.strip())
    return format_reference(int(match.group(1))) if match else None


def tsquery(query: str) -> tuple[str, list[str]]:
    """The words of `query` as a `to_tsquery('simple', …)` text ("" when there are none),
    and the Chinese runs of three characters or more, which the caller checks as
    substrings of the rows the index found (see the module's docstring).

    Only letters and digits reach the query syntax (pieces are `[^\\W_]` runs), so a
    typed `&`, `!` or quote cannot change its meaning.
    """
    parts, runs = [], []
    for piece in _PIECES.findall(query.lower())[:WORDS_MAX]:
        piece = piece[:64]
        if not re.match(rf"[{CJK}]", piece):
            parts.append(f"'{piece}':*")
        elif len(piece) == 1:
            parts.append(f"'{piece}':*")
        else:
            parts.extend(f"'{piece[i : i + 2]}'" for i in range(len(piece) - 1))
            if len(piece) > 2:
                runs.append(piece)
    return " & ".join(parts), runs


def readable_events(provider: Provider) -> Q:
    """Timeline entries a technician of `provider` reads on a ticket in its queues."""
    return Q(public=True) | Q(provider=provider) | Q(provider__isnull=True)


def search(provider: Provider, query: str, *, offset: int, limit: int) -> Found:
    """Tickets of `provider`'s queues matching `query`, best first: `limit` from `offset`."""
    query = normalise(query)
    if not query:
        return Found([], 0)
    if connection.vendor == "postgresql":
        return _search_postgresql(provider, query, offset=offset, limit=limit)
    return _search_portable(provider, query, offset=offset, limit=limit)


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _table(model: type) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _search_postgresql(provider: Provider, query: str, *, offset: int, limit: int) -> Found:
    with connection.cursor() as cursor:
        cursor.execute(*statement(provider, query, offset=offset, limit=limit))
        rows = cursor.fetchall()
    if not rows and offset:
        # Past the last page: the total still tells the view where the last page is.
        return Found([], search(provider, query, offset=0, limit=1).total)
    return Found([row[0] for row in rows], rows[0][1] if rows else 0)


def statement(
    provider: Provider, query: str, *, offset: int, limit: int
) -> tuple[str, dict[str, object]]:
    """The PostgreSQL search as SQL and parameters: (id, total) rows, best first."""
    # Only our constants, table names and numbered placeholders are formatted into the
    # SQL; everything typed is a parameter. One statement: each place a query can be
    # found is a branch served by its own index and already cut to the provider's
    # queues, then the best rank of each ticket, the page, and the total (a window over
    # the same rows, not a second pass).
    words, runs = tsquery(query)
    has_cjk = re.search(rf"[{CJK}]", query) is not None
    branches = [
        f"SELECT t.id, t.created_at, {RANK_EXACT} AS rank FROM {_table(Ticket)} t"  # noqa: S608 - our constants
        " WHERE t.reference = %(reference)s AND t.queue_id = ANY(ARRAY(SELECT id FROM scope))",
        f"SELECT t.id, t.created_at, {RANK_IDENTITY} FROM {_table(Ticket)} t"  # noqa: S608 - our constants
        f" WHERE t.merchant_id IN (SELECT id FROM {_table(Merchant)}"
        "   WHERE name ILIKE %(like)s OR contact_phone ILIKE %(like)s)"
        " AND t.queue_id = ANY(ARRAY(SELECT id FROM scope))",
    ]
    if not has_cjk:
        # Serial numbers are ASCII (devices.validators): no scan for a Chinese query.
        branches.append(
            f"SELECT t.id, t.created_at, CASE WHEN upper(d.serial_number) = upper(%(query)s)"  # noqa: S608 - our constants
            f" THEN {RANK_EXACT} ELSE {RANK_IDENTITY} END"
            f" FROM {_table(Ticket)} t JOIN {_table(Device)} d ON d.id = t.device_id"
            " WHERE d.serial_number ILIKE %(like)s"
            " AND t.queue_id = ANY(ARRAY(SELECT id FROM scope))"
def merchant_readable_events() -> Q:
    """Timeline entries the ticket's merchant reads: public ones; internal notes never
    leave the provider (the merchant's ticket page and the API)."""
    return Q(public=True)


        )
    if words:
        # The expressions of the indexes `ticket_search_words` and `event_search_words`
        # (migration 0018), written the same way so the planner matches them. The index
        # finds rows holding every two-character piece of a longer Chinese word; ILIKE on
        # those few rows keeps the ones where the pieces make the word (a phrase query,
        # `<->`, would recompute each row's words instead: ten times slower, measured).
        runs_in = "".join(f" AND {{column}} ILIKE %(run{i})s" for i in range(len(runs)))
        branches += [
            f"SELECT t.id, t.created_at, {RANK_DESCRIPTION} FROM {_table(Ticket)} t"  # noqa: S608 - our constants
            f" WHERE {TICKET_WORDS} @@ to_tsquery('simple'::regconfig, %(words)s)"
            + runs_in.format(column="t.description")
            + " AND t.queue_id = ANY(ARRAY(SELECT id FROM scope))",
            f"SELECT t.id, t.created_at, {RANK_TIMELINE}"  # noqa: S608 - our constants
            f" FROM {_table(TicketEvent)} e JOIN {_table(Ticket)} t ON t.id = e.ticket_id"
            f" WHERE {EVENT_TEXTS}"
            f" AND {EVENT_WORDS} @@ to_tsquery('simple'::regconfig, %(words)s)"
            + runs_in.format(column="e.body")
            + " AND (e.public OR e.provider_id = %(provider)s OR e.provider_id IS NULL)"
            " AND t.queue_id = ANY(ARRAY(SELECT id FROM scope))",
        ]
    # `= ANY(ARRAY(…))`, not `IN (SELECT …)`: the queue ids are read once, and each
    # branch's index is scanned once, not once per queue (measured at 1M: 屏幕 447 → 319
    # ms, 打印机 95 → 59 ms).
    sql = (
        f"WITH scope AS (SELECT id FROM {_table(Queue)} WHERE provider_id = %(provider)s),"  # noqa: S608 - our constants
        " hits AS (" + " UNION ALL ".join(branches) + ")"
        " SELECT id, count(*) OVER () FROM ("
        "   SELECT id, min(rank) AS rank, max(created_at) AS created_at FROM hits GROUP BY id"
        " ) best ORDER BY rank, created_at DESC, id DESC LIMIT %(limit)s OFFSET %(offset)s"
    )
    params = {
        "provider": provider.pk,
        "reference": reference_for(query) or "",
        "query": query,
        "like": _like(query),
        "words": words,
        **{f"run{i}": _like(run) for i, run in enumerate(runs)},
        "limit": limit,
        "offset": offset,
    }
    return sql, params


def _search_portable(provider: Provider, query: str, *, offset: int, limit: int) -> Found:
    reference = reference_for(query) or ""
    timeline = TicketEvent.objects.filter(
        readable_events(provider),
        ticket=OuterRef("pk"),
        kind__in=TEXT_KINDS,
        body__icontains=query,
    )
    identity = (
        Q(device__serial_number__icontains=query)
        | Q(merchant__name__icontains=query)
        | Q(merchant__contact_phone__icontains=query)
    )
    description = Q(description__icontains=query) | Q(callback_phone__icontains=query)
    hits: QuerySet[Ticket] = (
        Ticket.objects.filter(queue__provider=provider)
        .filter(Q(reference=reference) | identity | description | Exists(timeline))
        .annotate(
            rank=Case(
                When(
                    Q(reference=reference) | Q(device__serial_number__iexact=query),
                    then=Value(RANK_EXACT),
                ),
                When(identity, then=Value(RANK_IDENTITY)),
                When(description, then=Value(RANK_DESCRIPTION)),
                default=Value(RANK_TIMELINE),
                output_field=IntegerField(),
            )
        )
        .order_by("rank", "-created_at", "-id")
    )
    total = hits.count()
    return Found(list(hits.values_list("pk", flat=True)[offset : offset + limit]), total)
