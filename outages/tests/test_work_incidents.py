"""The technician's incident pages: the list, one incident and its actions, `/work/`'s
block and the ticket page's banner; scope and query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from conftest import World
from outages import services
from outages.detection import check
from outages.fanout import fan_out
from outages.models import Incident, IncidentUpdate
from outages.tests.helpers import host_down_ticket, shop
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def suspected(world: World, shops: int = 3) -> Incident:
    """What detection opens when `shops` shops of Shanghai lose the payment host."""
    at = timezone.now() - timedelta(minutes=5)
    incident = None
    for _ in range(shops):
        ticket = host_down_ticket(world.provider_x, shop(), at=at)
        incident = check(ticket.pk, now=at) or incident
    assert incident is not None
    assert incident.status == Incident.Status.SUSPECTED
    return incident


def declared(provider, user, **fields) -> Incident:  # noqa: ANN001
    return services.declare(
        provider=provider,
        user=user,
        category=fields.pop("category", "network"),
        city=fields.pop("city", "Shanghai"),
        summary=fields.pop("summary", "Payment host unreachable"),
        **fields,
    )


def incident_urls(incident: Incident) -> dict[str, str]:
    return {
        name: reverse(f"outages:{name}", args=[incident.pk])
        for name in (
            "work_incident",
            "work_incident_confirm",
            "work_incident_update",
            "work_incident_resolve",
        )
    }


# Scope ------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["yuri", "alice", "bob"])
def test_it_answers_404_to_another_provider_and_to_merchants(
    world: World,
    as_user,
    who: str,  # noqa: ANN001
) -> None:
    incident = suspected(world)
    client = as_user(getattr(world, who))
    for name, url in incident_urls(incident).items():
        response = client.get(url) if name == "work_incident" else client.post(url, {})
        assert response.status_code == 404, name
    incident.refresh_from_db()
    assert incident.status == Incident.Status.SUSPECTED
    if who != "yuri":  # merchants have no workspace at all
        assert client.get(reverse("outages:work_incidents")).status_code == 404
        assert client.get(reverse("outages:work_incident_new")).status_code == 404
        assert client.post(reverse("outages:work_incident_new"), {}).status_code == 404


def test_another_providers_incidents_are_not_listed(world: World, as_user) -> None:  # noqa: ANN001
    theirs = declared(world.provider_y, world.yuri, summary="Their outage")
    response = as_user(world.xavier).get(reverse("outages:work_incidents"))
    assert response.status_code == 200
    assert theirs.summary not in response.content.decode()


@pytest.mark.parametrize(
    "name", ["work_incident_confirm", "work_incident_update", "work_incident_resolve"]
)
def test_actions_are_post_only(world: World, as_user, name: str) -> None:  # noqa: ANN001
    incident = suspected(world)
    response = as_user(world.xavier).get(reverse(f"outages:{name}", args=[incident.pk]))
    assert response.status_code == 405


def test_staff_are_sent_to_the_admin_and_anonymous_users_to_log_in(
    world: World,
    as_user,
    client,  # noqa: ANN001
) -> None:
    response = as_user(world.admin).get(reverse("outages:work_incidents"))
    assert response.status_code == 302
    assert response.url == reverse("admin:outages_incident_changelist")
    response = client.get(reverse("outages:work_incidents"))
    assert reverse("login") in response.url


# The list ---------------------------------------------------------------------------------


def test_the_list_shows_open_incidents_first_suspected_flagged_then_resolved(
    world: World,
    as_user,  # noqa: ANN001
) -> None:
    detected = suspected(world)
    outage = declared(world.provider_x, world.xavier, summary="Carrier outage in Pudong")
    over = declared(world.provider_x, world.xavier, summary="Yesterday's host outage")
    services.resolve(over, world.xavier)

    response = as_user(world.xavier).get(reverse("outages:work_incidents"))

    assert [i.pk for i in response.context["current"]] == [detected.pk, outage.pk]
    assert [i.pk for i in response.context["page"].object_list] == [over.pk]
    first = response.context["current"][0]
    assert (first.shops, first.tickets) == (3, 3)
    html = response.content.decode()
    assert html.index("incident-suspected") < html.index("Carrier outage in Pudong")
    assert html.index("Carrier outage in Pudong") < html.index("Yesterday&#x27;s host outage")


def list_queries(client) -> int:  # noqa: ANN001
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("outages:work_incidents")).status_code == 200
    return len(queries)


def test_the_list_queries_do_not_grow_with_incidents(world: World, as_user) -> None:  # noqa: ANN001
    client = as_user(world.xavier)
    declared(world.provider_x, world.xavier)
    services.resolve(declared(world.provider_x, world.xavier), world.xavier)
    client.get(reverse("outages:work_incidents"))  # warm the session
    few = list_queries(client)
    suspected(world, 4)
    for n in range(6):
        incident = declared(world.provider_x, world.xavier, city=f"City {n}")
        if n % 2:
            services.resolve(incident, world.xavier)
    assert list_queries(client) == few


def test_resolved_incidents_are_paginated(world: World, as_user) -> None:  # noqa: ANN001
    from outages.views_work import PAGE_SIZE

    for n in range(PAGE_SIZE + 1):
        services.resolve(declared(world.provider_x, None, city=f"City {n}"), world.xavier)
    client = as_user(world.xavier)
    first = client.get(reverse("outages:work_incidents"))
    assert len(first.context["page"].object_list) == PAGE_SIZE
    second = client.get(reverse("outages:work_incidents"), {"page": 2})
    assert len(second.context["page"].object_list) == 1


# One incident -----------------------------------------------------------------------------


def test_the_page_shows_the_facts_timeline_and_linked_tickets(world: World, as_user) -> None:  # noqa: ANN001
    incident = suspected(world)
    services.post_update(incident, world.xena, "Checking the host.", public=False)
    response = as_user(world.xavier).get(incident.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    assert "Shanghai" in html
    assert "Checking the host." in html
    assert "internal" in html
    for ticket in Ticket.objects.filter(incident_link__incident=incident):
        assert reverse("tickets:work_ticket", args=[ticket.reference]) in html
    assert set(response.context["forms"]) == {"confirm", "update", "resolve"}


def page_queries(client, incident: Incident) -> int:  # noqa: ANN001
    with CaptureQueriesContext(connection) as queries:
        assert client.get(incident.get_absolute_url()).status_code == 200
    return len(queries)


def test_the_page_queries_do_not_grow_with_linked_tickets_or_updates(
    world: World,
    as_user,  # noqa: ANN001
) -> None:
    incident = suspected(world)
    client = as_user(world.xavier)
    client.get(incident.get_absolute_url())  # warm the session
    few = page_queries(client, incident)
    for _ in range(8):
        check(host_down_ticket(world.provider_x, shop()).pk)
    for n in range(4):
        services.post_update(incident, world.xena, f"Note {n}", public=bool(n % 2))
    assert incident.links.count() == 11
    assert page_queries(client, incident) == few


def test_confirming_with_a_message_tells_the_shops(world: World, as_user) -> None:  # noqa: ANN001
    incident = suspected(world)
    response = as_user(world.xavier).post(
        reverse("outages:work_incident_confirm", args=[incident.pk]),
        {"confirm-body": "The payment host is down.", "confirm-body_zh_hans": ""},
        follow=True,
    )
    incident.refresh_from_db()
    assert incident.status == Incident.Status.CONFIRMED
    update = incident.updates.get(kind=IncidentUpdate.Kind.CONFIRMED)
    assert update.public
    assert update.body == "The payment host is down."
    assert "being sent to the 3 linked tickets" in response.content.decode()


def test_confirming_twice_is_refused_with_a_message(world: World, as_user) -> None:  # noqa: ANN001
    incident = suspected(world)
    services.confirm(incident, world.xena)
    response = as_user(world.xavier).post(
        reverse("outages:work_incident_confirm", args=[incident.pk]), {}, follow=True
    )
    assert response.status_code == 200
    assert "not possible on this incident now" in response.content.decode()
    assert incident.updates.filter(kind=IncidentUpdate.Kind.CONFIRMED).count() == 1


def test_a_public_update_sets_the_next_update_and_is_fanned_out(
    world: World,
    as_user,  # noqa: ANN001
) -> None:
    incident = suspected(world)
    later = (timezone.localtime() + timedelta(hours=1)).replace(second=0, microsecond=0)
    response = as_user(world.xavier).post(
        reverse("outages:work_incident_update", args=[incident.pk]),
        {
            "update-body": "",
            "update-body_zh_hans": "工程师正在处理。",
            "update-audience": "public",
            "update-next_update_at": later.strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.next_update_at == later
    update = incident.updates.get(kind=IncidentUpdate.Kind.UPDATE)
    assert update.public
    assert update.body_zh_hans == "工程师正在处理。"
    assert fan_out(update.pk) == 3
    page = as_user(world.xavier).get(incident.get_absolute_url()).content.decode()
    assert "to 3 tickets" in page


def test_an_internal_note_stays_internal(world: World, as_user) -> None:  # noqa: ANN001
    incident = suspected(world)
    as_user(world.xavier).post(
        reverse("outages:work_incident_update", args=[incident.pk]),
        {"update-body": "Carrier says 2 hours.", "update-audience": "internal"},
    )
    note = incident.updates.get(body="Carrier says 2 hours.")
    assert note.kind == IncidentUpdate.Kind.NOTE
    assert not note.public


def test_an_empty_update_is_shown_again_with_the_error_and_what_was_typed(
    world: World,
    as_user,  # noqa: ANN001
) -> None:
    incident = suspected(world)
    response = as_user(world.xavier).post(
        reverse("outages:work_incident_update", args=[incident.pk]),
        {"update-body": "  ", "update-audience": "public", "update-next_update_at": "soon"},
    )
    assert response.status_code == 200
    form = response.context["forms"]["update"]
    assert form.has_error("body")
    assert form.has_error("next_update_at")
    assert 'value="soon"' in response.content.decode()
    assert not incident.updates.filter(kind=IncidentUpdate.Kind.UPDATE).exists()


def test_a_card_number_is_refused_next_to_the_field(world: World, as_user) -> None:  # noqa: ANN001
    incident = suspected(world)
    response = as_user(world.xavier).post(
        reverse("outages:work_incident_update", args=[incident.pk]),
        {"update-body": "Card 4111 1111 1111 1111 fails", "update-audience": "public"},
    )
    assert response.status_code == 200
    assert response.context["forms"]["update"].has_error("body")
    assert not incident.updates.filter(kind=IncidentUpdate.Kind.UPDATE).exists()


def test_a_refusal_of_the_service_is_a_form_error_not_a_500(
    world: World,
    as_user,
    monkeypatch,  # noqa: ANN001
) -> None:
    incident = suspected(world)

    def refuse(*args: object, **kwargs: object) -> None:
        raise services.Refused("The host said no.")

    monkeypatch.setattr(services, "post_update", refuse)
    response = as_user(world.xavier).post(
        reverse("outages:work_incident_update", args=[incident.pk]),
        {"update-body": "Typed with care.", "update-audience": "public"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "The host said no." in html
    assert "Typed with care." in html


def test_resolving_resolves_the_linked_tickets_and_a_merchant_can_reopen(
    world: World,
    as_user,  # noqa: ANN001
) -> None:
    incident = suspected(world)
    response = as_user(world.xavier).post(
        reverse("outages:work_incident_resolve", args=[incident.pk]),
        {"resolve-body": "The host is back.", "resolve-body_zh_hans": ""},
        follow=True,
    )
    assert "being sent to the 3 linked tickets" in response.content.decode()
    incident.refresh_from_db()
    assert incident.status == Incident.Status.RESOLVED
    fan_out(incident.updates.get(kind=IncidentUpdate.Kind.RESOLVED).pk)
    tickets = list(Ticket.objects.filter(incident_link__incident=incident))
    assert {t.status for t in tickets} == {Ticket.Status.RESOLVED}

    ticket = tickets[0]
    merchant_user = ticket.merchant.members.get()
    reopened = as_user(merchant_user).post(
        reverse("tickets:reopen", args=[ticket.reference]), {"reason": "Still cannot pay."}
    )
    assert reopened.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.IN_PROGRESS
    # A resolved incident offers no more actions.
    page = as_user(world.xavier).get(incident.get_absolute_url())
    assert page.context["forms"] == {}


# `/work/` and the ticket page --------------------------------------------------------------


def test_work_home_lists_open_incidents_suspected_first(world: World, as_user) -> None:  # noqa: ANN001
    outage = declared(world.provider_x, world.xavier, summary="Carrier outage in Pudong")
    detected = suspected(world)
    services.resolve(declared(world.provider_x, None, summary="Over and done"), world.xavier)
    declared(world.provider_y, world.yuri, summary="Not ours")

    response = as_user(world.xavier).get(reverse("tickets:work"))

    assert [i.pk for i in response.context["incidents"]] == [detected.pk, outage.pk]
    html = response.content.decode()
    assert 'id="home-incidents"' in html
    assert outage.get_absolute_url() in html
    assert "incident-suspected" in html
    assert "Over and done" not in html
    assert "Not ours" not in html
    assert reverse("outages:work_incidents") in html


def home_queries(client) -> int:  # noqa: ANN001
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("tickets:work")).status_code == 200
    return len(queries)


def test_work_home_queries_do_not_grow_with_incidents(world: World, as_user) -> None:  # noqa: ANN001
    client = as_user(world.xavier)
    suspected(world)  # tickets on both sides: the urgent list's queries stay the same
    client.get(reverse("tickets:work"))
    few = home_queries(client)
    for n in range(7):
        declared(world.provider_x, world.xavier, city=f"City {n}")
    assert home_queries(client) == few
    assert client.get(reverse("tickets:work")).context["more_incidents"]


def test_the_ticket_page_links_to_its_incident(world: World, as_user) -> None:  # noqa: ANN001
    incident = suspected(world)
    ticket = Ticket.objects.filter(incident_link__incident=incident).first()
    client = as_user(world.xavier)
    html = client.get(reverse("tickets:work_ticket", args=[ticket.reference])).content.decode()
    assert 'id="incident-banner"' in html
    assert incident.get_absolute_url() in html

    alone = host_down_ticket(world.provider_x, shop(city="Beijing"))
    html = client.get(reverse("tickets:work_ticket", args=[alone.reference])).content.decode()
    assert 'id="incident-banner"' not in html
