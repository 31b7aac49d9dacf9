"""Detection: N shops of one city with the same fault within the window open one
suspected incident; later tickets join it; other places, kinds and times do not."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from mail.models import OutboundEmail
from outages.detection import check
from outages.models import Incident, IncidentTicket
from outages.tests.helpers import host_down_ticket, shop
from tests.factories import ProviderFactory, UserFactory, member_of
from tickets.models import Category, TicketEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider():  # noqa: ANN201
    provider = ProviderFactory(name="ICBC Merchant Services")
    member_of(UserFactory(username="tech1"), provider=provider)
    return provider


def test_third_shop_within_the_window_opens_a_suspected_incident(provider) -> None:  # noqa: ANN001
    t0 = timezone.now() - timedelta(minutes=30)
    first = host_down_ticket(provider, at=t0)
    second = host_down_ticket(provider, at=t0 + timedelta(minutes=5))
    assert check(first.pk, now=t0) is None
    assert check(second.pk, now=t0 + timedelta(minutes=5)) is None
    assert not Incident.objects.exists()

    third = host_down_ticket(provider, at=t0 + timedelta(minutes=14))
    incident = check(third.pk, now=t0 + timedelta(minutes=14))

    assert incident is not None
    assert incident.status == Incident.Status.SUSPECTED
    assert incident.source == Incident.Source.DETECTED
    assert incident.city == "Shanghai"
    assert incident.starts_at == t0
    assert set(incident.links.values_list("ticket_id", flat=True)) == {
        first.pk,
        second.pk,
        third.pk,
    }
    linked = TicketEvent.objects.filter(kind=TicketEvent.Kind.INCIDENT_LINKED)
    assert linked.count() == 3
    # The provider's technicians are told, once.
    alerts = OutboundEmail.objects.filter(kind="incident_opened")
    assert list(alerts.values_list("recipient", flat=True)) == ["tech1@example.com"]


def test_shops_outside_the_window_do_not_count(provider) -> None:  # noqa: ANN001
    t0 = timezone.now() - timedelta(hours=1)
    host_down_ticket(provider, at=t0)
    host_down_ticket(provider, at=t0 + timedelta(minutes=10))
    late = host_down_ticket(provider, at=t0 + timedelta(minutes=16))
    assert check(late.pk, now=t0 + timedelta(minutes=16)) is None
    assert not Incident.objects.exists()


def test_one_shop_three_times_is_not_an_outage(provider) -> None:  # noqa: ANN001
    merchant = shop()
    now = timezone.now()
    tickets = [host_down_ticket(provider, merchant, at=now) for _ in range(3)]
    assert [check(t.pk, now=now) for t in tickets] == [None, None, None]


def test_other_cities_kinds_and_providers_do_not_count(provider) -> None:  # noqa: ANN001
    now = timezone.now()
    host_down_ticket(provider, shop(city="Beijing"), at=now)
    host_down_ticket(provider, at=now, category=Category.HARDWARE, symptom="screen")
    host_down_ticket(ProviderFactory(), at=now)
    host_down_ticket(provider, at=now)
    last = host_down_ticket(provider, at=now)
    assert check(last.pk, now=now) is None


def test_city_spelling_does_not_split_an_area(provider) -> None:  # noqa: ANN001
    now = timezone.now()
    host_down_ticket(provider, shop(city="shanghai"), at=now)
    host_down_ticket(provider, shop(city=" SHANGHAI "), at=now)
    last = host_down_ticket(provider, at=now)
    assert check(last.pk, now=now) is not None


def test_threshold_and_window_are_the_providers(provider) -> None:  # noqa: ANN001
    provider.incident_shops = 2
    provider.incident_window_minutes = 60
    provider.save()
    t0 = timezone.now() - timedelta(hours=1)
    host_down_ticket(provider, at=t0)
    second = host_down_ticket(provider, at=t0 + timedelta(minutes=50))
    assert check(second.pk, now=t0 + timedelta(minutes=50)) is not None


def test_later_tickets_join_the_open_incident_and_hardware_never_opens_one(provider) -> None:  # noqa: ANN001
    now = timezone.now()
    tickets = [host_down_ticket(provider, at=now) for _ in range(3)]
    incident = check(tickets[-1].pk, now=now)
    later = host_down_ticket(provider, at=now + timedelta(minutes=40))
    assert check(later.pk, now=now + timedelta(minutes=40)) == incident
    assert IncidentTicket.objects.get(ticket=later).incident == incident
    # Checking again changes nothing (the task can run twice).
    assert check(later.pk, now=now + timedelta(minutes=41)) is None
    assert TicketEvent.objects.filter(ticket=later, kind="incident_linked").count() == 1

    printers = [
        host_down_ticket(provider, at=now, category=Category.HARDWARE, symptom="printer")
        for _ in range(4)
    ]
    assert check(printers[-1].pk, now=now) is None


def test_a_resolved_incident_is_not_joined_a_new_one_opens(provider) -> None:  # noqa: ANN001
    now = timezone.now()
    tickets = [host_down_ticket(provider, at=now) for _ in range(3)]
    first = check(tickets[-1].pk, now=now)
    Incident.objects.filter(pk=first.pk).update(status=Incident.Status.RESOLVED)
    again = [host_down_ticket(provider, at=now + timedelta(minutes=1)) for _ in range(3)]
    second = check(again[-1].pk, now=now + timedelta(minutes=1))
    assert second is not None
    assert second != first


def test_the_unlocked_first_look_never_skips_what_check_would_do(provider) -> None:  # noqa: ANN001
    """outages.detection.worth_checking, asked before every check on random tickets (two
    providers, three cities, grouped and ungrouped faults, spread over an hour): whenever
    `check` links or opens, the first look said to check; and it does let most pass."""
    import random

    from outages.detection import worth_checking
    from tests.factories import ProviderFactory

    rng = random.Random(18)
    other = ProviderFactory(name="Lakala")
    shops = [shop(city=city) for city in ("Shanghai", "Beijing", " shanghai ") for _ in range(4)]
    faults = [
        (Category.NETWORK, "host"),
        (Category.NETWORK, "mobile"),
        (Category.SOFTWARE, "frozen"),
        (Category.HARDWARE, "printer"),
    ]
    t0 = timezone.now() - timedelta(hours=2)
    said, acted, skipped = 0, 0, 0
    for minute in sorted(rng.randrange(0, 90) for _ in range(60)):
        at = t0 + timedelta(minutes=minute)
        category, symptom = rng.choice(faults)
        ticket = host_down_ticket(
            rng.choice((provider, other)),
            rng.choice(shops),
            at=at,
            category=category,
            symptom=symptom,
        )
        worth = worth_checking(ticket, now=at)
        result = check(ticket.pk, now=at)
        assert result is None or worth, (minute, category, symptom)
        said += worth
        acted += result is not None
        skipped += not worth
    assert acted, (said, acted, skipped)
    assert skipped, (said, acted, skipped)
