"""W5's pieces on a small scale, so the outage workload of `make bench` does not rot
between bench runs: its shops (bench/seed.py), its rotation, its filing as the real form
takes it with the per-fault rule on, its check of one incident and every link, its clean
state, and the fan-out's query count (bench/w5.py).

Not in the project's testpaths (bench/ is not an app); run it with
`.venv/bin/python -m pytest bench/tests` (about 10 s).
"""

from __future__ import annotations

import pytest
from django.test import Client

from bench import w5
from bench.loadgen import BenchError, parse_forms
from bench.seed import (
    FANOUT_CITY,
    FANOUT_SHOPS,
    OUTAGE_CITY,
    OUTAGE_PROVIDER,
    OUTAGE_SHOPS,
    Seeded,
    seed_outage_shops,
)
from devices.models import Provider
from outages.models import Incident
from tests.factories import DeviceModelFactory, ProviderFactory, UserFactory, member_of
from tickets.models import Ticket
from tickets.queues import ensure_default_queues

pytestmark = pytest.mark.django_db


@pytest.fixture
def meta() -> Seeded:
    provider = ProviderFactory(name=OUTAGE_PROVIDER, kind=Provider.Kind.BANK)
    ensure_default_queues(provider)
    member_of(UserFactory(username="bench-tech-1-0"), provider=provider)
    DeviceModelFactory()
    info = Seeded(tickets=0, merchants=0, devices=0)
    seed_outage_shops(info, log=lambda *args: None)
    return info


def filing_form(client: Client, shop: w5.Shop):  # noqa: ANN201 - a loadgen Form
    path = f"/tickets/new/?device={shop.device_id}&category=network"
    page = client.get(path, secure=True)
    assert page.status_code == 200
    return path, next(f for f in parse_forms(page.content.decode()) if "description" in f.fields)


def test_the_seed_gives_each_shop_one_terminal_of_the_provider_and_one_user(meta) -> None:  # noqa: ANN001
    outage, fanout = w5.shops_of(OUTAGE_CITY), w5.shops_of(FANOUT_CITY)

    assert (len(outage), len(fanout)) == (OUTAGE_SHOPS, FANOUT_SHOPS)
    assert len({s.username for s in outage + fanout}) == OUTAGE_SHOPS + FANOUT_SHOPS
    assert meta.outage_provider_id == Provider.objects.get(name=OUTAGE_PROVIDER).pk


def test_the_clients_take_every_shop_in_turn() -> None:
    shops = [w5.Shop(n, f"s{n}", n) for n in range(20)]
    rotation = w5.Rotation(shops, 8)

    taken = [rotation.take().merchant_id for _ in range(45)]

    assert taken[:20] == list(range(20))
    assert taken[20:40] == list(range(20))  # each shop again only after all the others
    with pytest.raises(BenchError):
        w5.Rotation(shops[:8], 8)  # a shop would be filed for by two clients at once


def test_a_burst_opens_one_incident_links_every_ticket_and_cleans_up(
    meta,
    settings,
    django_capture_on_commit_callbacks,  # noqa: ANN001
) -> None:
    settings.ONE_OPEN_TICKET_PER_FAULT = True  # as in production
    shops = w5.shops_of(OUTAGE_CITY)[:4]
    w5.log_in(shops)
    filed = 0
    for shop in [*shops, shops[0]]:
        client = Client()
        client.cookies.load(shop.cookies)
        path, form = filing_form(client, shop)
        again = shop.filed > 0
        if again:
            # The shop's ticket of this fault is open: the rule refuses a plain "File".
            plain = client.post(path, w5.outage_form_data(form, again=False), secure=True)
            assert plain.status_code == 409
            path, form = filing_form(client, shop)
        with django_capture_on_commit_callbacks(execute=True):  # routing, eager: linking
            response = client.post(path, w5.outage_form_data(form, again=again), secure=True)
        assert response.status_code == 302, response.content.decode()[:500]
        shop.filed += 1
        filed += 1

    check = w5.check_burst(meta, first_id=1, filed=filed, wait=0)

    assert check.ok, check.describe()
    assert (check.tickets, check.linked, check.incidents) == (5, 5, 1)
    assert len(check.latencies_ms) == 5
    assert Ticket.objects.filter(symptom="host", category="network").count() == 5

    w5.clean(meta)
    assert not Ticket.objects.exists()
    assert not Incident.objects.exists()


def test_the_fan_out_makes_as_many_queries_for_few_tickets_as_for_many(meta) -> None:  # noqa: ANN001
    few, _seconds = w5.count_fan_out_queries(meta, 2)
    many, _seconds = w5.count_fan_out_queries(meta, 40)

    assert few == many
    assert not Incident.objects.exists()  # each one removed after counting
