"""`/work/search/`: a technician's search across its provider's queues (tickets.search)."""

from __future__ import annotations

import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conftest import World
from tests.factories import DeviceFactory, MerchantFactory, queued_ticket
from tickets import events, search
from tickets.models import Queue, Ticket, TicketEvent

URL = reverse("tickets:work_search")
K = TicketEvent.Kind


def found(response) -> list[Ticket]:  # noqa: ANN001
    assert response.status_code == 200
    return [row.ticket for row in response.context["rows"]]


def find(client, query: str, **params: object) -> list[Ticket]:  # noqa: ANN001
    return found(client.get(URL, {"q": query, **params}))


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("卡纸", "description"),  # two characters: one piece of the index
        ("打印机", "description"),  # three: pieces, then the word itself
        ("小票打不出来", "description"),
        ("票", "description"),  # one character: a prefix of a piece
        ("jams", "description"),
        ("print", "description"),  # an English prefix
        ("主板故障", "reply"),
        ("returned", "reply"),
        ("疑似读卡模块", "note"),
        ("mainboard", "note"),
        ("什么时候", "question"),
        ("还是不行", "merchant_reply"),
        ("老王面馆", "merchant"),
        ("Noodle", "merchant"),
        ("8765", "phone"),  # the last digits of the shop's phone
        ("XYZ77", "serial"),
    ],
)
def test_it_finds_words_in_each_place(world: World, as_user, query: str, field: str) -> None:  # noqa: ANN001
    shop = MerchantFactory(name="老王面馆 Wang's Noodle House", contact_phone="+86 21 5555 8765")
    device = DeviceFactory(merchant=shop, provider=world.provider_x, serial_number="ABC-XYZ77-01")
    ticket = queued_ticket(
        device, description="收银台的打印机卡纸，小票打不出来。The printer jams."
    )
    events.record(
        ticket, K.REPLY, world.xavier, "主板故障，需要返厂维修。It is returned to the centre."
    )
    events.record(ticket, K.NOTE, world.xavier, "疑似读卡模块损坏。Mainboard?", public=False)
    events.record(ticket, K.QUESTION, world.xavier, "什么时候店里有人？")
    events.record(ticket, K.MERCHANT_REPLY, world.alice, "重启了还是不行。")
    other = queued_ticket(world.device_a, description="Battery drains within an hour.")

    results = find(as_user(world.xavier), query)

    assert ticket in results, field
    assert other not in results


def test_it_does_not_match_pieces_that_are_not_the_word(world: World, as_user) -> None:  # noqa: ANN001
    # 打印 and 印机 are both here, but never 打印机.
    queued_ticket(world.device_a, description="打印很淡。盖印机坏了。")
    assert find(as_user(world.xavier), "打印机") == []


def test_it_never_finds_another_providers_tickets(world: World, as_user) -> None:  # noqa: ANN001
    theirs = queued_ticket(world.device_b, description="打印机卡纸 printer jam")
    events.record(theirs, K.REPLY, world.yuri, "主板故障")
    mine = queued_ticket(world.device_a, description="打印机卡纸 printer jam")
    client = as_user(world.xavier)
    for query in (
        "打印机",
        "卡纸",
        "printer",
        "主板故障",
        theirs.reference,
        world.device_b.serial_number,
    ):
        assert theirs not in find(client, query), query
    assert find(client, "卡纸") == [mine]
    assert find(as_user(world.yuri), "卡纸") == [theirs]


def test_another_providers_internal_notes_on_a_transferred_ticket_are_never_searched(
    world: World,
    as_user,  # noqa: ANN001
) -> None:
    # Filed with provider Y, which wrote an internal note, then transferred to X.
    device = DeviceFactory(merchant=world.merchant_a, provider=world.provider_y)
    ticket = queued_ticket(device, description="Terminal dead.")
    events.record(ticket, K.NOTE, world.yuri, "客户情绪较大 VIPsecret", public=False)
    events.record(ticket, K.REPLY, world.yuri, "明天上午安排工程师上门")
    ticket.queue = Queue.objects.get(provider=world.provider_x, kind=Queue.Kind.WARRANTY_REPAIR)
    ticket.save()
    events.record(ticket, K.NOTE, world.xavier, "已申请更换 ownnote", public=False)
    client = as_user(world.xavier)

    assert find(client, "客户情绪") == []
    assert find(client, "VIPsecret") == []
    # What X reads on the ticket page it can search: the public reply, its own note.
    assert find(client, "工程师上门") == [ticket]
    assert find(client, "ownnote") == [ticket]
    # Y no longer has the ticket at all.
    assert find(as_user(world.yuri), "VIPsecret") == []


def test_an_exact_reference_comes_first(world: World, as_user) -> None:  # noqa: ANN001
    target = queued_ticket(world.device_a, description="Printer jam.")
    newer = [
        queued_ticket(world.device_a, description=f"See {target.reference}, same fault.")
        for _ in range(3)
    ]
    client = as_user(world.xavier)
    results = find(client, target.reference)
    assert results[0] == target
    assert set(results[1:]) == set(newer)
    number = str(int(target.reference.removeprefix("PD-")))
    assert find(client, number)[0] == target  # typed as a bare number


def test_an_exact_serial_comes_before_words(world: World, as_user) -> None:  # noqa: ANN001
    device = DeviceFactory(
        merchant=world.merchant_a, provider=world.provider_x, serial_number="PX99887766"
    )
    by_serial = queued_ticket(device, description="Dead.")
    by_words = queued_ticket(world.device_a, description="Swap with PX99887766 please.")
    assert find(as_user(world.xavier), "px99887766") == [by_serial, by_words]


def test_it_pages_with_the_total(world: World, as_user) -> None:  # noqa: ANN001
    tickets = [queued_ticket(world.device_a, description="网络连接失败") for _ in range(30)]
    client = as_user(world.xavier)

    first = client.get(URL, {"q": "网络"})
    second = client.get(URL, {"q": "网络", "page": 2})
    beyond = client.get(URL, {"q": "网络", "page": 99})

    assert first.context["total"] == 30
    assert len(found(first)) == 25
    assert len(found(second)) == 5
    assert set(found(first)) | set(found(second)) == set(tickets)
    assert found(first) == sorted(tickets, key=lambda t: t.pk, reverse=True)[:25]  # newest first
    assert b"q=%E7%BD%91%E7%BB%9C&amp;page=2" in first.content
    assert found(beyond) == found(second)  # past the end: the last page


def test_the_query_count_does_not_grow_with_the_rows(world: World, as_user) -> None:  # noqa: ANN001
    client = as_user(world.xavier)
    queued_ticket(world.device_a, description="卡纸", assigned_to=world.xena)
    client.get(URL, {"q": "卡纸"})
    with CaptureQueriesContext(connection) as one:
        assert len(found(client.get(URL, {"q": "卡纸"}))) == 1
    for n in range(40):
        device = DeviceFactory(merchant=MerchantFactory(), provider=world.provider_x)
        ticket = queued_ticket(
            device, description="卡纸", assigned_to=world.xena if n % 2 else None
        )
        events.record(ticket, K.REPLY, world.xavier, "卡纸")
    with CaptureQueriesContext(connection) as many:
        assert len(found(client.get(URL, {"q": "卡纸"}))) == 25
    assert len(many) == len(one)


def test_an_empty_or_odd_query_is_a_page_not_an_error(world: World, as_user) -> None:  # noqa: ANN001
    queued_ticket(world.device_a)
    client = as_user(world.xavier)
    for query in ("", "   ", "&|!()'", "%", "_", "\\", ":*", "a" * 500):
        assert found(client.get(URL, {"q": query})) == [], query


def test_the_search_box_is_on_work_pages(world: World, as_user) -> None:  # noqa: ANN001
    response = as_user(world.xavier).get(reverse("tickets:work"))
    assert f'action="{URL}"'.encode() in response.content
    assert reverse("tickets:work_mine").encode() in response.content


def test_merchants_get_404_and_visitors_log_in(world: World, as_user, client) -> None:  # noqa: ANN001
    queued_ticket(world.device_a, description="卡纸")
    assert as_user(world.alice).get(URL, {"q": "卡纸"}).status_code == 404
    assert b'action="/work/search/"' not in as_user(world.alice).get("/").content
    response = client.get(URL, {"q": "卡纸"})
    assert response.status_code == 302
    assert "login" in response["Location"]


@pytest.mark.parametrize(
    ("table", "condition", "index"),
    [
        ("tickets_ticket t", search.TICKET_WORDS, "ticket_search_words"),
        (
            "tickets_ticketevent e",
            f"{search.EVENT_TEXTS} AND {search.EVENT_WORDS}",
            "event_search_words",
        ),
    ],
)
def test_the_indexes_serve_the_search(world: World, table: str, condition: str, index: str) -> None:  # noqa: ANN001
    """The search's expressions are the indexes' (migration 0018): PostgreSQL uses them."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            f"EXPLAIN SELECT 1 FROM {table} WHERE {condition}"
            " @@ to_tsquery('simple'::regconfig, %s)",
            [search.tsquery("打印机")[0]],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan


def test_the_portable_fallback_finds_the_same(world: World) -> None:  # noqa: ANN001
    """`make run`'s SQLite uses `_search_portable`; it is plain ORM, so it runs here too."""
    ticket = queued_ticket(world.device_a, description="收银台的打印机卡纸")
    events.record(ticket, K.NOTE, world.xavier, "疑似主板故障", public=False)
    theirs = queued_ticket(world.device_b, description="打印机卡纸")
    for query in ("卡纸", "主板", world.device_a.serial_number.lower(), ticket.reference):
        hits = search._search_portable(world.provider_x, query, offset=0, limit=25)
        assert hits.ids == [ticket.pk], query
        assert theirs.pk not in hits.ids


def _small_world(world: World, *, count: int, seed: int) -> list[Ticket]:
    """`count` tickets of X, each holding 卡纸 in its description, its timeline, both or
    neither, some for a shop named after it; a few of Y's with the word."""
    rng = random.Random(seed)
    noodle = MerchantFactory(name="卡纸面馆")
    noodle_device = DeviceFactory(merchant=noodle, provider=world.provider_x)
    tickets = []
    for n in range(count):
        device = noodle_device if rng.random() < 0.1 else world.device_a
        place = rng.choice(["description", "timeline", "both", "neither"])
        words = "打印机卡纸" if place in ("description", "both") else "屏幕不亮"
        ticket = queued_ticket(device, description=f"{words} {n}")
        if place in ("timeline", "both"):
            events.record(ticket, K.REPLY, world.xavier, "还是卡纸")
        if rng.random() < 0.2:
            # An internal note of X and a public reply: neither adds a second hit.
            events.record(ticket, K.NOTE, world.xavier, "卡纸两次", public=False)
        tickets.append(ticket)
    for _ in range(3):
        theirs = queued_ticket(world.device_b, description="打印机卡纸")
        events.record(theirs, K.REPLY, world.yuri, "卡纸")
    return tickets


def _expected(world: World, query: str) -> list[int]:
    """Every hit in rank order, worked out the slow way from the rows themselves."""
    mine = Ticket.objects.filter(queue__provider=world.provider_x).select_related("merchant")
    texts = set(
        TicketEvent.objects.filter(
            search.readable_events(world.provider_x),
            kind__in=search.TEXT_KINDS,
            body__contains=query,
        ).values_list("ticket_id", flat=True)
    )
    tiers: list[list[int]] = [[], [], []]
    for ticket in mine.order_by("-id"):
        if query in ticket.merchant.name:
            tiers[0].append(ticket.pk)
        elif query in ticket.description:
            tiers[1].append(ticket.pk)
        elif ticket.pk in texts:
            tiers[2].append(ticket.pk)
    return tiers[0] + tiers[1] + tiers[2]


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("finder", ["postgresql", "portable"])
def test_capped_pages_are_the_newest_hits_of_each_place_in_rank_order(
    world: World, monkeypatch, seed: int, finder: str
) -> None:  # noqa: ANN001
    """With a cap of 12 and windows of 7 ids, every page and the count are what reading
    all the hits would give, cut at the cap: the windows change the cost, not the result."""
    monkeypatch.setattr(search, "CAP", 12)
    monkeypatch.setattr(search, "WINDOW", 7)
    _small_world(world, count=45, seed=seed)
    expected = _expected(world, "卡纸")
    assert len(expected) > 12  # the cap is reached
    find = search._search_postgresql if finder == "postgresql" else search._search_portable
    with CaptureQueriesContext(connection) as statements:
        pages = [find(world.provider_x, "卡纸", offset=o, limit=5) for o in (0, 5, 10, 15)]
    assert len(statements) <= 4 * search.STATEMENTS_MAX
    assert [page.ids for page in pages] == [expected[0:5], expected[5:10], expected[10:12], []]
    assert {(page.total, page.more) for page in pages} == {(12, True)}

    monkeypatch.setattr(search, "CAP", 1_000)
    whole = find(world.provider_x, "卡纸", offset=0, limit=100)
    assert (whole.ids, whole.total, whole.more) == (expected, len(expected), False)


def test_a_common_word_reads_only_its_newest_rows(world: World, monkeypatch) -> None:  # noqa: ANN001
    """What W7 at 1,000,000 tickets needs, at a size a test can build: a word in all 120
    tickets of the provider is counted to the cap from the newest rows, not from all."""
    monkeypatch.setattr(search, "CAP", 20)
    monkeypatch.setattr(search, "WINDOW", 30)
    for _ in range(120):
        queued_ticket(world.device_a, description="屏幕不亮")

    def fetched() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT idx_tup_fetch + seq_tup_read FROM pg_stat_xact_user_tables"
                " WHERE relname = 'tickets_ticket'"
            )
            return cursor.fetchone()[0]

    before = fetched()
    hits = search.search(world.provider_x, "屏幕", offset=0, limit=10)
    read = fetched() - before

    assert (len(hits.ids), hits.total, hits.more) == (10, 20, True)
    assert read < 60, f"{read} ticket rows read for a page of 10 and a count to 21"


def test_more_than_the_cap_says_so_and_pages_stop_there(world: World, as_user, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(search, "CAP", 30)
    for _ in range(33):
        queued_ticket(world.device_a, description="网络连接失败")
    client = as_user(world.xavier)

    first = client.get(URL, {"q": "网络"})
    last = client.get(URL, {"q": "网络", "page": 9})

    assert b"More than 30 tickets found" in first.content
    assert (first.context["total"], first.context["page"].paginator.num_pages) == (30, 2)
    assert len(found(last)) == 5  # the second page holds the 26th to the 30th
