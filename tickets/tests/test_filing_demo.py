"""seed_demo files demo tickets through the real service: routed, and only once."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def test_seed_demo_files_routed_tickets_once(django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", force=True, stdout=StringIO())
    tickets = Ticket.objects.all()
    assert tickets.count() == 6
    assert set(tickets.values_list("merchant__memberships__user__username", flat=True)) >= {
        "merchant1",
        "merchant2",
    }
    assert not tickets.exclude(status=Ticket.Status.QUEUED).exists()
    assert TicketEvent.objects.filter(kind=TicketEvent.Kind.ROUTED).count() == 6
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", force=True, stdout=StringIO())
    assert Ticket.objects.count() == 6
