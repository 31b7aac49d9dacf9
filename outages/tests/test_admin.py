"""The admin side of outages: an incident added there is declared through the service
(its open tickets linked), its workflow fields stay read-only, "resolve" goes through
the service; downtime and offline sales are read, never edited; providers' detection
settings are editable."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone

from conftest import World
from outages import services
from outages.models import Incident, IncidentUpdate, OfflineSale
from outages.tests.helpers import host_down_ticket, shop
from tickets.models import TicketEvent

pytestmark = pytest.mark.django_db

ADD = reverse("admin:outages_incident_add")
CHANGELIST = reverse("admin:outages_incident_changelist")


def split(when) -> dict[str, str]:  # noqa: ANN001
    local = timezone.localtime(when)
    return {"0": local.strftime("%Y-%m-%d"), "1": local.strftime("%H:%M:%S")}


def add_data(world: World, **fields: object) -> dict[str, object]:
    start = split(timezone.now() - timedelta(minutes=1))
    return {
        "provider": world.provider_x.pk,
        "category": "network",
        "symptoms": ["network:host"],
        "city": "Shanghai",
        "district": "",
        "summary": "Payment host unreachable",
        "summary_zh_hans": "",
        "starts_at_0": start["0"],
        "starts_at_1": start["1"],
        "ends_at_0": "",
        "ends_at_1": "",
        "next_update_at_0": "",
        "next_update_at_1": "",
        "updates-TOTAL_FORMS": "0",
        "updates-INITIAL_FORMS": "0",
        **fields,
    }


def test_adding_an_incident_declares_it_and_links_its_open_tickets(
    world: World,
    as_user,  # noqa: ANN001
) -> None:
    covered = [host_down_ticket(world.provider_x, shop()) for _ in range(2)]
    host_down_ticket(world.provider_x, shop(city="Beijing"))
    client = as_user(world.admin)
    assert client.get(ADD).status_code == 200

    response = client.post(ADD, add_data(world))

    assert response.status_code == 302, response.context["adminform"].form.errors
    incident = Incident.objects.get()
    assert incident.status == Incident.Status.CONFIRMED
    assert incident.opened_by == world.admin
    assert incident.symptoms == ["host"]
    assert {link.ticket_id for link in incident.links.all()} == {t.pk for t in covered}
    assert TicketEvent.objects.filter(kind=TicketEvent.Kind.INCIDENT_LINKED).count() == 2
    assert incident.updates.filter(kind=IncidentUpdate.Kind.OPENED).exists()


def test_maintenance_added_in_the_admin_needs_an_end_after_its_start(
    world: World,
    as_user,  # noqa: ANN001
) -> None:
    start = timezone.now() + timedelta(hours=5)
    before = split(start - timedelta(hours=1))
    response = as_user(world.admin).post(
        ADD,
        add_data(
            world,
            maintenance="on",
            starts_at_0=split(start)["0"],
            starts_at_1=split(start)["1"],
            ends_at_0=before["0"],
            ends_at_1=before["1"],
        ),
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.has_error("ends_at")
    assert not Incident.objects.exists()


def test_workflow_fields_are_read_only_after_creation_and_the_page_loads(
    world: World,
    as_user,  # noqa: ANN001
) -> None:
    host_down_ticket(world.provider_x, shop())
    incident = services.declare(
        provider=world.provider_x, user=None, category="network", city="Shanghai", summary="X"
    )
    page = as_user(world.admin).get(reverse("admin:outages_incident_change", args=[incident.pk]))
    assert page.status_code == 200
    form = page.context["adminform"].form
    for name in ("status", "source", "provider", "category", "city", "symptoms"):
        assert name not in form.fields
    assert set(form.fields) >= {"summary", "summary_zh_hans", "ends_at", "next_update_at"}
    link = incident.links.get()
    assert link.ticket.reference in page.content.decode()


def test_the_changelist_filters_and_searches(world: World, as_user) -> None:  # noqa: ANN001
    services.declare(provider=world.provider_x, user=None, category="network", summary="Host down")
    client = as_user(world.admin)
    for query in (
        {},
        {"status__exact": "confirmed"},
        {"source__exact": "declared"},
        {"provider__id__exact": world.provider_x.pk},
        {"q": "Host"},
    ):
        response = client.get(CHANGELIST, query)
        assert response.status_code == 200
        assert "Host down" in response.content.decode(), query


def test_the_resolve_action_goes_through_the_service(world: World, as_user) -> None:  # noqa: ANN001
    host_down_ticket(world.provider_x, shop())
    incident = services.declare(
        provider=world.provider_x, user=None, category="network", summary="Host down"
    )
    as_user(world.admin).post(
        CHANGELIST, {"action": "resolve_incidents", ACTION_CHECKBOX_NAME: [incident.pk]}
    )
    incident.refresh_from_db()
    assert incident.status == Incident.Status.RESOLVED
    resolved = incident.updates.get(kind=IncidentUpdate.Kind.RESOLVED)
    assert resolved.author == world.admin
    assert resolved.public


def test_downtime_and_offline_sales_are_read_only(world: World, as_user) -> None:  # noqa: ANN001
    ticket = host_down_ticket(world.provider_x, shop())
    services.start_downtime(ticket)
    sale = OfflineSale.objects.create(
        ticket=ticket,
        sold_at=timezone.now(),
        amount=Decimal("12.50"),
        method="cash",
        note="Table 4",
        card_last4="1234",
    )
    client = as_user(world.admin)
    for model in ("downtime", "offlinesale"):
        assert client.get(reverse(f"admin:outages_{model}_changelist")).status_code == 200
        assert client.get(reverse(f"admin:outages_{model}_add")).status_code == 403
    listing = client.get(reverse("admin:outages_offlinesale_changelist")).content.decode()
    assert "Table 4" not in listing
    change = reverse("admin:outages_offlinesale_change", args=[sale.pk])
    page = client.get(change)
    assert page.status_code == 200
    assert not page.context["adminform"].form.fields
    client.post(change, {"amount": "99", "method": "qr"})
    sale.refresh_from_db()
    assert (sale.amount, sale.method) == (Decimal("12.50"), "cash")


def test_the_provider_admin_edits_the_detection_settings(world: World, as_user) -> None:  # noqa: ANN001
    page = as_user(world.admin).get(
        reverse("admin:devices_provider_change", args=[world.provider_x.pk])
    )
    fields = page.context["adminform"].form.fields
    assert "incident_shops" in fields
    assert "incident_window_minutes" in fields
