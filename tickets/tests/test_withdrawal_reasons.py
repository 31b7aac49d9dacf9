"""Why a shop withdrew a ticket is kept as a code and worded in each reader's language;
events stored before with the label's words get their code back (migration 0012)."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.utils import translation

from tests.factories import queued_ticket
from tickets import workflow
from tickets.models import Ticket, TicketEvent

migration = importlib.import_module("tickets.migrations.0012_withdrawal_reason_codes")


def test_the_reason_is_worded_in_the_readers_language(world) -> None:
    ticket = queued_ticket(world.device_a, reporter=world.alice)
    with translation.override("zh-hans"):
        workflow.cancel(ticket, world.alice, "路由器", code=Ticket.CancelReason.RESTART)
    event = ticket.events.get(kind=TicketEvent.Kind.CANCELLED)
    assert event.text == "A restart fixed it: 路由器"
    with translation.override("zh-hans"):
        assert event.text == "重启后已恢复：路由器"


def test_other_needs_what_the_shop_typed(world) -> None:
    ticket = queued_ticket(world.device_a, reporter=world.alice)
    with pytest.raises(workflow.NotAllowed):
        workflow.cancel(ticket, world.alice, " ", code=Ticket.CancelReason.OTHER)
    with pytest.raises(workflow.NotAllowed):
        workflow.cancel(ticket, world.alice, "", code="no-such-reason")


@pytest.mark.parametrize(
    ("stored", "code", "typed"),
    [
        ("A restart fixed it", "restart", ""),
        ("A restart fixed it: the router too", "restart", "the router too"),
        ("误报", "mistake", ""),
        ("自助检查后已解决：换了纸", "self_help", "换了纸"),
        ("Bought a new one", "other", "Bought a new one"),
    ],
)
def test_a_stored_label_gets_its_code_back(world, stored: str, code: str, typed: str) -> None:
    ticket = queued_ticket(world.device_a, reporter=world.alice, cancel_reason=stored)
    event = TicketEvent.objects.create(
        ticket=ticket, kind=TicketEvent.Kind.CANCELLED, actor=world.alice, body=stored
    )
    migration.reason_codes(apps, None)
    event.refresh_from_db()
    ticket.refresh_from_db()
    assert (event.data, event.body, ticket.cancel_reason) == ({"reason": code}, typed, typed)
