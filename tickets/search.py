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

At most 1,000 hits are counted and listed (`CAP`, as Zendesk's search stops at 1,000):
"more than 1,000 found" asks for another word, and the count no longer costs a read of
every hit. The first version ranked and counted all of them: at 1,000,000 tickets
屏幕 (in one ticket of eight) had 41,000 hits in scope and took 320-460 ms, p99 of the
page over 350 ms (bench W7). Now each place after the identities is read newest first,
a window of ticket ids at a time (`_Places.newest`): the newest 20,000 ids, then as many
as the hits found so far say it takes to reach 1,001, then the rest; for a common word
a few thousand rows, for a rare one its few rows at once. Measured at 1M (bench W7,
RESULTS.md): PostgreSQL's CPU per search 22-45 ms for the twelve words, against 58-393.

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
timeline; newest ticket (highest id: ids are given in filing order) first within each.
The page and the count come from the same reads.

Scope: tickets in the provider's queues; timeline texts the technician may read there,
the same rule as the ticket page (public, or written while the ticket was with this
provider, or by nobody's queue): another provider's internal notes on a ticket that
was transferred are never searched.

On any database but PostgreSQL (the SQLite of `make run`), `_search_portable` does the
same with `icontains` and no index.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from django.db import connection, transaction
from django.db.models import Case, Exists, IntegerField, Max, OuterRef, Q, QuerySet, Value, When

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


# At most this many hits are counted and listed, newest first within each place (as
# Zendesk's search stops at 1,000): a technician refines a search with more, and no
# common word makes the page read every ticket that holds it.
CAP = 1_000
# Timeline hits read when counting: one ticket can hold the word in several entries.
TIMELINE_READ = 3 * CAP
# The newest ticket ids a place is read in first (`_Places.newest`).
WINDOW = 20_000
# Statements of one search, whatever the query and however many hits: the transaction's
# setting, the identities, the newest id, and at most three reads for each of two places.
STATEMENTS_MAX = 9


@dataclass
class Found:
    """One page of hits: ticket ids in rank order, and how many there are in all (at
    most `CAP`; `more` when the count stopped there)."""

    ids: list[int]
    total: int
    more: bool = False


def normalise(query: str) -> str:
    return " ".join(query.split())[:QUERY_MAX]


def reference_for(query: str) -> str | None:
    """The reference a query names: PD-000123, pd-123 or 123."""
    match = _REFERENCE.match(query.strip())
    return format_reference(int(match.group(1))) if match else None


def tsquery(
    query: str, *, rarest: Callable[[list[str]], str] | None = None
) -> tuple[str, list[str]]:
    """The words of `query` as a `to_tsquery('simple', …)` text ("" when there are none),
    and the Chinese runs of three characters or more, which the caller checks as
    substrings of the rows the index found (see the module's docstring).

    A run is all its two-character pieces, or with `rarest` only the piece that picks
    (the run itself is checked anyway, so the result is the same).

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
            pieces = [piece[i : i + 2] for i in range(len(piece) - 1)]
            if len(piece) > 2:
                runs.append(piece)
                if rarest is not None:
                    pieces = [rarest(pieces)]
            parts.extend(f"'{p}'" for p in pieces)
    return " & ".join(parts), runs


# How often each word is in an index's rows, from PostgreSQL's statistics of it (the
# most common elements that ANALYZE keeps), per index, read again after ten minutes.
_COMMON: dict[str, tuple[float, dict[str, float]]] = {}
COMMON_SECONDS = 600


def common_words(index: str) -> dict[str, float]:
    now = time.monotonic()
    cached = _COMMON.get(index)
    if cached is None or cached[0] < now:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT e.word, e.share FROM pg_stats s, unnest("
                " s.most_common_elems::text::text[], s.most_common_elem_freqs) e(word, share)"
                " WHERE s.tablename = %s",
                [index],
            )
            cached = (now + COMMON_SECONDS, dict(cursor.fetchall()))
        _COMMON[index] = cached
    return cached[1]


def readable_events(provider: Provider) -> Q:
    """Timeline entries a technician of `provider` reads on a ticket in its queues."""
    return Q(public=True) | Q(provider=provider) | Q(provider__isnull=True)


def merchant_readable_events() -> Q:
    """Timeline entries the ticket's merchant reads: public ones; internal notes never
    leave the provider (the merchant's ticket page and the API)."""
    return Q(public=True)


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
    with transaction.atomic():
        # Each read below is a few milliseconds: starting parallel workers costs more
        # than they save, and takes the second core from another request.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        return _newest_hits(_Places(provider, query), offset=offset, limit=limit)


def _newest_hits(places: _Places, *, offset: int, limit: int) -> Found:
    # Each place in rank order, newest first, until `CAP` + 1 tickets are found: they
    # give the page and the count together. A place after the identities is read a
    # window of ticket ids at a time (`_Places.newest`), so a common word costs the
    # newest few thousand of its rows, not all of them.
    found = places.identity()
    if places.words:
        for window in (places.description_window, places.timeline_window):
            if len(found) > CAP:
                break
            found += places.newest(window, set(found), CAP + 1 - len(found))
    end = min(offset + limit, CAP)
    return Found(found[offset:end], min(len(found), CAP), more=len(found) > CAP)


class _Places:
    """The SQL of each place a query can be found, inside one provider's queues.

    Only our constants, table names and named placeholders are formatted into the SQL;
    everything typed is a parameter. A place's words are read in a `MATERIALIZED` CTE:
    PostgreSQL plans it for all its rows (a bitmap of the words' index, the cheapest way
    to all of them), not for the few a `LIMIT` asks, which would steer it to a scan that
    tests every row's words.
    """

    def __init__(self, provider: Provider, query: str) -> None:
        self.query = query
        self.words, runs = tsquery(query)
        self.has_cjk = re.search(rf"[{CJK}]", query) is not None
        self.params: dict[str, object] = {
            "provider": provider.pk,
            "reference": reference_for(query) or "",
            "query": query,
            "like": _like(query),
            "words": self.words,
            **{f"run{i}": _like(run) for i, run in enumerate(runs)},
        }
        # The index finds rows holding every two-character piece of a longer Chinese
        # word; ILIKE on those rows keeps the ones where the pieces make the word (a
        # phrase query, `<->`, would recompute each row's words: ten times slower).
        self.runs_in = "".join(f" AND {{column}} ILIKE %(run{i})s" for i in range(len(runs)))
        # `= ANY(ARRAY(…))`, not `IN (SELECT …)`: the queue ids are read once, and each
        # index is scanned once, not once per queue.
        self.scope = (
            f"t.queue_id = ANY(ARRAY(SELECT id FROM {_table(Queue)}"  # noqa: S608 - our constants
            " WHERE provider_id = %(provider)s))"
        )

    @cached_property
    def top(self) -> int:
        """The newest ticket's id, where the windows start."""
        return Ticket.objects.aggregate(top=Max("id"))["top"] or 0

    def _ids(self, sql: str, **params: object) -> list[int]:
        with connection.cursor() as cursor:
            cursor.execute(sql, {**self.params, **params})
            return [row[0] for row in cursor.fetchall()]

    def identity(self) -> list[int]:
        """Exact reference or serial first, then a serial, a merchant's name or phone
        holding the query; newest first within each; at most `CAP` + 1."""
        like = "LIKE" if self.has_cjk else "ILIKE"
        branches = [
            f"SELECT t.id, {RANK_EXACT} AS rank FROM {_table(Ticket)} t"  # noqa: S608 - our constants
            f" WHERE t.reference = %(reference)s AND {self.scope}",
            f"SELECT t.id, {RANK_IDENTITY} FROM {_table(Ticket)} t"  # noqa: S608 - our constants
            f" WHERE t.merchant_id IN (SELECT id FROM {_table(Merchant)}"
            # Chinese has no case: LIKE is twice as fast as ILIKE on a scan of the shops.
            f"   WHERE name {like} %(like)s OR contact_phone {like} %(like)s)"
            f" AND {self.scope}",
        ]
        if not self.has_cjk:
            # Serial numbers are ASCII (devices.validators): no scan for a Chinese query.
            branches.append(
                "SELECT t.id, CASE WHEN upper(d.serial_number) = upper(%(query)s)"  # noqa: S608 - our constants
                f" THEN {RANK_EXACT} ELSE {RANK_IDENTITY} END"
                f" FROM {_table(Ticket)} t JOIN {_table(Device)} d ON d.id = t.device_id"
                f" WHERE d.serial_number ILIKE %(like)s AND {self.scope}"
            )
        return self._ids(
            "SELECT id FROM (" + " UNION ALL ".join(branches) + ") hits"  # noqa: S608 - our constants
            " GROUP BY id ORDER BY min(rank), id DESC LIMIT %(cap)s",
            cap=CAP + 1,
        )

    def _narrowed(self, index: str) -> str:
        """The words with each long Chinese word as its rarest piece in `index`.

        PostgreSQL estimates pieces that always come together (通讯 & 讯超 & 超时) as if
        they were independent, far too few rows, and then reads every candidate instead
        of adding the window's id range to the bitmap. One piece is estimated right;
        the word itself is checked on the rows anyway.
        """
        shares = common_words(index)
        return tsquery(
            self.query, rarest=lambda pieces: min(pieces, key=lambda p: shares.get(p, 0))
        )[0]

    @staticmethod
    def _range(column: str, low: int) -> str:
        return (
            f" AND {column} >= %(low)s AND {column} < %(high)s"
            if low
            else f" AND {column} < %(high)s"
        )

    def _scope_in(self, low: int) -> str:
        # In a window the words and the id range leave few rows: the scope is tested on
        # them (`+ 0` keeps PostgreSQL from reading the queue index, a third of the
        # table for a big provider). For the rest of the table, where few hits are
        # expected, the queue index is what keeps a small provider's search short.
        return self.scope.replace("t.queue_id", "t.queue_id + 0") if low else self.scope

    def description_window(self, low: int, high: int, seen: list[int], need: int) -> list[int]:
        """The newest `need` tickets with ids in [low, high) whose description holds the
        words, not in `seen`. The expression of the index `ticket_search_words`
        (migration 0018), written the same way so the planner matches it."""
        return self._ids(
            f"WITH hits AS MATERIALIZED (SELECT t.id FROM {_table(Ticket)} t"  # noqa: S608 - our constants
            f" WHERE {TICKET_WORDS} @@ to_tsquery('simple'::regconfig, %(words)s)"
            + self.runs_in.format(column="t.description")
            + self._range("t.id", low)
            + f" AND {self._scope_in(low)}) SELECT id FROM hits WHERE NOT (id = ANY(%(seen)s))"  # noqa: S608 - our constants
            " ORDER BY id DESC LIMIT %(need)s",
            words=self._narrowed("ticket_search_words"),
            low=low,
            high=high,
            seen=seen,
            need=need,
        )

    def timeline_window(self, low: int, high: int, seen: list[int], need: int) -> list[int]:
        """The same for the timeline entries a technician may read (`readable_events`):
        the expression and predicate of the partial index `event_search_words`."""
        return self._ids(
            f"WITH hits AS MATERIALIZED (SELECT e.ticket_id FROM {_table(TicketEvent)} e"  # noqa: S608 - our constants
            f" WHERE {EVENT_TEXTS}"
            f" AND {EVENT_WORDS} @@ to_tsquery('simple'::regconfig, %(words)s)"
            + self.runs_in.format(column="e.body")
            + " AND (e.public OR e.provider_id = %(provider)s OR e.provider_id IS NULL)"
            + self._range("e.ticket_id", low)
            + f") SELECT t.id FROM hits JOIN {_table(Ticket)} t ON t.id = hits.ticket_id"  # noqa: S608 - our constants
            f" WHERE {self.scope} AND NOT (t.id = ANY(%(seen)s))"
            " GROUP BY t.id ORDER BY t.id DESC LIMIT %(need)s",
            words=self._narrowed("event_search_words"),
            low=low,
            high=high,
            seen=seen,
            need=need,
        )

    def newest(self, window: Callable[..., list[int]], seen: set[int], need: int) -> list[int]:
        """A place's newest `need` hits, not in `seen`, in at most three reads: the newest
        `WINDOW` ticket ids; then as many ids further back as the hits found so far say
        it takes to find the rest, with half again to spare; then all the rest.
        A common word is found among the newest tickets, a rare one in the rest at
        once, and neither reads every row that holds it."""
        top = self.top
        high, ids = top + 1, []
        for attempt in range(3):
            low = max(high - WINDOW, 0) if attempt == 0 else 0
            if attempt == 1 and ids:
                density = len(ids) / (top + 1 - high)
                low = max(high - int(1.5 * (need - len(ids)) / density), 0)
            ids += window(low, high, sorted(seen.union(ids)), need - len(ids))
            high = low
            if len(ids) >= need or high == 0:
                break
        return ids


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
        .order_by("rank", "-id")
    )
    total = hits[: CAP + 1].count()
    end = min(offset + limit, CAP)
    return Found(
        list(hits.values_list("pk", flat=True)[offset:end]) if offset < end else [],
        min(total, CAP),
        more=total > CAP,
    )
