"""/tickets/<ref>/attachments/<id>/: downloads through a scope check, never inline."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile

from tests.factories import queued_ticket
from tickets import workflow
from tickets.models import Attachment, Ticket, TicketEvent
from tickets.tests.filing_helpers import PNG

pytestmark = pytest.mark.django_db


def _attach(ticket: Ticket, event: TicketEvent | None, name: str = "screen.png") -> Attachment:
    attachment = Attachment(
        ticket=ticket,
        event=event,
        original_name=name,
        content_type="image/png",
        size=len(PNG),
    )
    attachment.file.save(name, ContentFile(PNG), save=False)
    attachment.save()
    return attachment


@pytest.fixture
def filed(world) -> tuple[Ticket, Attachment]:  # noqa: ANN001
    ticket = queued_ticket(world.device_a)
    event = TicketEvent.objects.create(ticket=ticket, kind=TicketEvent.Kind.FILED)
    return ticket, _attach(ticket, event)


def test_the_merchant_downloads_an_attachment(world, as_user, filed) -> None:
    _ticket, attachment = filed
    response = as_user(world.alice).get(attachment.get_absolute_url())
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment;")
    assert 'filename="screen.png"' in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == PNG


def test_the_technician_of_the_provider_downloads_it(world, as_user, filed) -> None:
    _ticket, attachment = filed
    assert as_user(world.xavier).get(attachment.get_absolute_url()).status_code == 200


@pytest.mark.parametrize("who", ["bob", "yuri"])
def test_outsiders_get_a_404(world, as_user, filed, who: str) -> None:
    _ticket, attachment = filed
    assert as_user(getattr(world, who)).get(attachment.get_absolute_url()).status_code == 404


def test_an_attachment_of_another_ticket_is_a_404(world, as_user, filed) -> None:
    _ticket, attachment = filed
    other = queued_ticket(world.device_a)
    url = f"/tickets/{other.reference}/attachments/{attachment.pk}/"
    assert as_user(world.alice).get(url).status_code == 404


def test_an_internal_notes_attachment_is_hidden_from_the_merchant(world, as_user) -> None:
    ticket = queued_ticket(world.device_a)
    note = workflow.note(ticket, world.xavier, "Board photo")
    attachment = _attach(ticket, note, "board.png")
    assert as_user(world.alice).get(attachment.get_absolute_url()).status_code == 404
    assert as_user(world.xavier).get(attachment.get_absolute_url()).status_code == 200


def test_a_missing_file_is_a_404_not_an_error(world, as_user, filed) -> None:
    _ticket, attachment = filed
    attachment.file.delete(save=False)
    assert as_user(world.alice).get(attachment.get_absolute_url()).status_code == 404


def test_downloads_are_get_only(world, as_user, filed) -> None:
    _ticket, attachment = filed
    assert as_user(world.alice).post(attachment.get_absolute_url()).status_code == 405
