"""Declaring an incident by hand: an outage or planned maintenance; bad input is shown
next to its field with everything typed kept."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from conftest import World
from outages.models import Incident
from outages.tests.helpers import host_down_ticket, shop
from tickets.models import TicketEvent

pytestmark = pytest.mark.django_db
URL = reverse("outages:work_incident_new")


def local(delta: timedelta) -> str:
    return (timezone.localtime() + delta).strftime("%Y-%m-%dT%H:%M")


def data(**fields: str) -> dict[str, object]:
    return {
        "category": "network",
        "symptoms": ["network:host"],
        "city": "Shanghai",
        "district": "",
        "summary": "Payment host unreachable",
        "summary_zh_hans": "支付主机无法连接",
        "starts_at": "",
        "ends_at": "",
        "next_update_at": local(timedelta(hours=1)),
        **fields,
    }


def test_the_form_is_shown(world: World, as_user) -> None:  # noqa: ANN001
    response = as_user(world.xavier).get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'value="network:host"' in html
    assert 'name="maintenance"' in html


def test_declaring_links_the_open_tickets_it_covers(world: World, as_user) -> None:  # noqa: ANN001
    covered = [host_down_ticket(world.provider_x, shop()) for _ in range(2)]
    elsewhere = host_down_ticket(world.provider_x, shop(city="Beijing"))
    wifi = host_down_ticket(world.provider_x, shop(), symptom="wifi")

    response = as_user(world.xavier).post(URL, data(), follow=True)

    incident = Incident.objects.get()
    assert response.redirect_chain[-1][0] == incident.get_absolute_url()
    assert "2 open tickets are linked" in response.content.decode()
    assert (incident.status, incident.source) == ("confirmed", "declared")
    assert incident.symptoms == ["host"]
    assert incident.opened_by == world.xavier
    assert incident.provider == world.provider_x
    assert {link.ticket_id for link in incident.links.all()} == {t.pk for t in covered}
    assert not TicketEvent.objects.filter(
        ticket__in=[elsewhere, wifi], kind=TicketEvent.Kind.INCIDENT_LINKED
    ).exists()


def test_planned_maintenance_needs_an_end_after_its_start(world: World, as_user) -> None:  # noqa: ANN001
    client = as_user(world.xavier)
    response = client.post(
        URL,
        data(
            maintenance="on",
            summary="Host maintenance tonight",
            starts_at=local(timedelta(hours=5)),
            ends_at=local(timedelta(hours=4)),
        ),
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["ends_at"] == ["The end must be after the start."]
    html = response.content.decode()
    assert "The end must be after the start." in html
    assert 'value="Host maintenance tonight"' in html
    assert re.search(r'value="network:host"[^>]*checked', html)
    assert not Incident.objects.exists()

    response = client.post(URL, data(maintenance="on", starts_at=local(timedelta(hours=5))))
    assert response.context["form"].errors["ends_at"] == ["Planned maintenance needs its end."]

    response = client.post(
        URL,
        data(
            maintenance="on",
            starts_at=local(timedelta(hours=5)),
            ends_at=local(timedelta(hours=7)),
        ),
    )
    assert response.status_code == 302
    incident = Incident.objects.get()
    assert incident.source == Incident.Source.MAINTENANCE
    assert not incident.links.exists()  # it has not started: nothing linked yet


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        pytest.param({"summary": "", "summary_zh_hans": ""}, "summary", id="no-summary"),
        pytest.param({"symptoms": ["hardware:screen"]}, "symptoms", id="other-kinds-symptom"),
        pytest.param({"city": "", "district": "Pudong"}, "city", id="district-without-city"),
        pytest.param({"starts_at": "1989-12-31T12:00"}, "starts_at", id="absurd-start"),
        pytest.param({"next_update_at": local(-timedelta(hours=2))}, "next_update_at", id="past"),
        pytest.param({"summary": "Card 4111 1111 1111 1111"}, "summary", id="card-number"),
    ],
)
def test_bad_input_is_shown_at_its_field(
    world: World,
    as_user,
    fields: dict,
    field: str,  # noqa: ANN001
) -> None:
    response = as_user(world.xavier).post(URL, data(**fields))
    assert response.status_code == 200
    assert response.context["form"].has_error(field)
    assert not Incident.objects.exists()


def test_another_providers_technician_declares_for_their_own(world: World, as_user) -> None:  # noqa: ANN001
    host_down_ticket(world.provider_x, shop())
    as_user(world.yuri).post(URL, data())
    incident = Incident.objects.get()
    assert incident.provider == world.provider_y
    assert not incident.links.exists()  # provider X's ticket is not theirs to link
