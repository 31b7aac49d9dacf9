"""A technician works an outage on a phone: three shops of Shanghai lose the payment
host, PosDesk opens a suspected incident; the technician finds it from the menu,
confirms it, posts an update and resolves it; the shops' tickets end resolved."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from outages.detection import check
from outages.models import Incident, IncidentUpdate
from outages.tests.helpers import host_down_ticket, shop
from tests.browser.conftest import Session
from tests.factories import PASSWORD
from tickets.models import Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fill_and_send(technician: Session, summary: str, fields: dict[str, str], button: str) -> None:
    """Open one of the incident page's folded forms (unless open), fill it and send it."""
    page = technician.page
    details = page.locator("details", has=page.locator("summary", has_text=summary))
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    for label, value in fields.items():
        details.get_by_label(label, exact=True).fill(value)
    details.get_by_role("button", name=button).click()
    technician.settle()


def test_a_technician_confirms_updates_and_resolves_a_detected_outage_on_a_phone(
    world,  # noqa: ANN001
    open_session,  # noqa: ANN001
) -> None:
    at = timezone.now() - timedelta(minutes=5)
    incident = None
    for _ in range(3):
        ticket = host_down_ticket(world.provider_x, shop(), at=at)
        incident = check(ticket.pk, now=at) or incident
    assert incident is not None
    assert incident.status == Incident.Status.SUSPECTED
    tickets = list(Ticket.objects.filter(incident_link__incident=incident))
    assert len(tickets) == 3

    technician = open_session(phone=True)
    technician.log_in("xavier", PASSWORD)
    assert "Open incidents" in technician.text()  # /work/ flags it
    technician.nav("Incidents")
    assert "Suspected" in technician.text()
    technician.click("link", incident.title)
    assert technician.page.locator("#shops").inner_text() == "3"

    fill_and_send(
        technician,
        "Confirm the incident",
        {"Message to the shops (English)": "The payment host is down in Shanghai."},
        "Confirm",
    )
    incident.refresh_from_db()
    assert incident.status == Incident.Status.CONFIRMED
    assert "being sent to the 3 linked tickets" in technician.text()

    fill_and_send(
        technician,
        "Post an update",
        {"Update (English)": "The carrier is replacing a router; back within the hour."},
        "Post update",
    )
    assert incident.updates.filter(kind=IncidentUpdate.Kind.UPDATE, public=True).exists()
    assert "The carrier is replacing a router" in technician.text()

    fill_and_send(
        technician,
        "Resolve the incident",
        {"Closing message (English)": "The payment host is reachable again."},
        re.compile("resolve the incident and its tickets", re.I),
    )
    incident.refresh_from_db()
    assert incident.status == Incident.Status.RESOLVED
    # Celery runs eagerly here: the fan-out resolved every linked ticket.
    for ticket in tickets:
        ticket.refresh_from_db()
        assert ticket.status == Ticket.Status.RESOLVED
    assert "Resolved" in technician.text()
    technician.screenshot("outage-technician-resolved-phone")

    # The linked ticket's page points back at the incident.
    technician.click("link", tickets[0].reference)
    assert technician.page.locator("#incident-banner").is_visible()
