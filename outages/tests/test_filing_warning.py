"""The filing pages warn of a known problem, and "Me too" files a linked ticket (item 3)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from outages import services
from outages.models import Downtime, Incident, IncidentTicket
from tests.factories import DeviceFactory
from tickets.models import Category, Ticket

pytestmark = pytest.mark.django_db
NEW = reverse("tickets:new")


def _outage(provider, user, **fields) -> Incident:  # noqa: ANN001
    fields = {"category": Category.NETWORK, "city": "Shanghai", **fields}
    return services.declare(
        provider=provider,
        user=user,
        symptoms=["host"],
        summary="Payment host unreachable",
        next_update_at=timezone.now() + timedelta(minutes=45),
        **fields,
    )


def _step_two(client, device, category=Category.NETWORK):  # noqa: ANN001, ANN202
    return client.get(NEW, {"device": device.pk, "category": category})


def _me_too(client, incident, device, token=None):  # noqa: ANN001, ANN202
    return client.post(
        reverse("outages:me_too", args=[incident.pk]),
        {"device": device.pk, "submission_token": str(token or uuid.uuid4())},
    )


def test_step_two_says_there_is_a_known_problem_before_anything_is_typed(world, as_user) -> None:
    incident = _outage(world.provider_x, world.xavier)
    page = _step_two(as_user(world.alice), world.device_a).text
    assert "Known problem since" in page
    assert "Payment host unreachable in Shanghai" in page
    assert "handled by Provider X" in page
    assert "Next update by" in page
    assert reverse("outages:me_too", args=[incident.pk]) in page
    assert f'name="device" value="{world.device_a.pk}"' in page
    assert 'name="description"' in page  # the normal form is still there, below


def test_no_warning_for_another_kind_of_fault_another_city_or_another_provider(
    world, as_user
) -> None:
    _outage(world.provider_x, world.xavier, city="Beijing")
    _outage(world.provider_y, world.yuri)
    client = as_user(world.alice)
    assert "Known problem" not in _step_two(client, world.device_a).text
    _outage(world.provider_x, world.xavier)
    assert "Known problem" not in _step_two(client, world.device_a, Category.HARDWARE).text
    assert "Known problem" in _step_two(client, world.device_a).text


def test_step_one_lists_the_known_problems_of_the_shops_terminals(world, as_user) -> None:
    incident = _outage(world.provider_x, world.xavier)
    other = DeviceFactory(merchant=world.merchant_a, provider=world.provider_y)
    page = as_user(world.alice).get(NEW).text
    assert 'id="known-problems"' in page
    assert "Payment host unreachable" in page
    assert page.count(reverse("outages:me_too", args=[incident.pk])) == 1
    assert f'name="device" value="{world.device_a.pk}"' in page
    assert f'name="device" value="{other.pk}"' not in page  # Y's terminal is not covered


def test_the_home_page_shows_the_known_problem_too(world, as_user) -> None:
    incident = _outage(world.provider_x, world.xavier)
    page = as_user(world.alice).get("/").text
    assert reverse("outages:me_too", args=[incident.pk]) in page


def test_step_two_with_a_known_problem_costs_two_fixed_queries(world, as_user) -> None:
    client = as_user(world.alice)

    def sql() -> list[str]:
        with CaptureQueriesContext(connection) as queries:
            assert _step_two(client, world.device_a).status_code == 200
        return [q["sql"] for q in queries.captured_queries]

    sql()  # the first view puts the user in the cache (portal.auth): not counted below
    quiet = sql()
    _outage(world.provider_x, world.xavier)
    one = sql()
    for _ in range(3):
        _outage(world.provider_x, world.xavier)
        _outage(world.provider_y, world.yuri)
    many = sql()
    # The incidents of the shop's area always; the terminal's handlers only when any.
    assert len(one) == len(quiet) + 1
    assert len(many) == len(one)
    assert sum('"outages_incident"' in q for q in quiet) == 1


def test_me_too_files_one_linked_ticket_and_lands_on_it(world, as_user) -> None:
    incident = _outage(world.provider_x, world.xavier)
    client = as_user(world.alice)
    response = _me_too(client, incident, world.device_a)
    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert response.url == ticket.get_absolute_url()
    assert ticket.device == world.device_a
    assert ticket.can_take_payments == Ticket.Payments.NO
    assert ticket.category == Category.NETWORK
    link = IncidentTicket.objects.get(ticket=ticket)
    assert link.incident == incident
    assert link.via == IncidentTicket.Via.ME_TOO
    assert Downtime.objects.get(ticket=ticket).is_open
    page = client.get(response.url).text
    assert "follows the known problem" in page


def test_a_double_tap_files_once(world, as_user) -> None:
    incident = _outage(world.provider_x, world.xavier)
    client = as_user(world.alice)
    token = uuid.uuid4()
    first = _me_too(client, incident, world.device_a, token)
    second = _me_too(client, incident, world.device_a, token)
    assert Ticket.objects.count() == 1
    assert first.url == second.url
    assert IncidentTicket.objects.count() == 1


def test_me_too_refuses_another_shops_terminal(world, as_user) -> None:
    incident = _outage(world.provider_y, world.yuri)
    response = _me_too(as_user(world.alice), incident, world.device_b)
    assert response.status_code == 404
    assert not Ticket.objects.exists()


def test_me_too_on_another_providers_incident_is_a_404(world, as_user) -> None:
    incident = _outage(world.provider_y, world.yuri)
    response = _me_too(as_user(world.alice), incident, world.device_a)
    assert response.status_code == 404
    assert not Ticket.objects.exists()


def test_me_too_on_an_incident_that_does_not_cover_the_terminal_is_refused(world, as_user) -> None:
    elsewhere = _outage(world.provider_x, world.xavier, city="Beijing")
    response = _me_too(as_user(world.alice), elsewhere, world.device_a)
    assert response.status_code == 302
    assert response.url.startswith(NEW)  # to file it normally instead
    assert f"device={world.device_a.pk}" in response.url
    assert not Ticket.objects.exists()


def test_me_too_on_a_resolved_incident_is_refused_with_a_message(world, as_user) -> None:
    incident = _outage(world.provider_x, world.xavier)
    services.resolve(incident, world.xavier)
    client = as_user(world.alice)
    response = _me_too(client, incident, world.device_a)
    assert response.status_code == 302
    assert not Ticket.objects.exists()
    page = client.get(response.url).text
    assert "does not concern this terminal" in page


def test_me_too_is_post_only(world, as_user) -> None:
    incident = _outage(world.provider_x, world.xavier)
    response = as_user(world.alice).get(reverse("outages:me_too", args=[incident.pk]))
    assert response.status_code == 405
