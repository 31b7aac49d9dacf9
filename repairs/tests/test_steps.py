"""Every step of each method: who takes it, from which step, and its event (kind,
public, actor). The shop's steps are on its ticket page, the technician's on theirs."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils.timezone import localtime

from repairs import services
from repairs.models import Repair
from repairs.tests.helpers import slot_post, warranty_ticket
from repairs.tests.test_start import SEND_IN, SWAP
from tickets import workflow
from tickets.models import Ticket, TicketEvent

K = TicketEvent.Kind


@pytest.fixture
def tech(world, as_user):  # noqa: ANN001, ANN201
    return as_user(world.xavier)


@pytest.fixture
def shop(world, as_user):  # noqa: ANN001, ANN201
    return as_user(world.alice)


def _work(client, ticket: Ticket, name: str, data: dict | None = None):  # noqa: ANN001, ANN202
    return client.post(reverse(f"repairs:work_{name}", args=[ticket.reference]), data or {})


def _shop(client, ticket: Ticket, name: str, data: dict | None = None):  # noqa: ANN001, ANN202
    return client.post(reverse(f"repairs:{name}", args=[ticket.reference]), data or {})


def _repair(ticket: Ticket) -> Repair:
    return Repair.objects.get(ticket=ticket)


def _last(ticket: Ticket) -> TicketEvent:
    return ticket.events.order_by("-created_at", "-id").first()


def _assert_event(ticket: Ticket, kind: str, actor) -> TicketEvent:  # noqa: ANN001
    event = _last(ticket)
    assert (event.kind, event.public, event.actor) == (kind, True, actor)
    return event


def test_a_send_in_step_by_step(world, tech, shop) -> None:  # noqa: ANN001
    ticket = warranty_ticket(world)
    _work(tech, ticket, "start_send_in", SEND_IN)
    # The shop cannot jump ahead: nothing is on its way to it yet.
    _shop(shop, ticket, "delivered")
    assert _repair(ticket).step == "awaiting_unit"

    _work(tech, ticket, "received")
    assert _repair(ticket).step == "received"
    assert _repair(ticket).received_at
    _assert_event(ticket, K.REPAIR_RECEIVED, world.xavier)

    _work(tech, ticket, "repaired")
    assert _repair(ticket).step == "repaired"
    assert _repair(ticket).repaired_at
    _assert_event(ticket, K.REPAIR_REPAIRED, world.xavier)

    _work(tech, ticket, "ship_back", {"ship_back-courier": "SF", "ship_back-tracking": "SF999"})
    repair = _repair(ticket)
    assert (repair.step, repair.courier_out, repair.tracking_out) == ("shipped_back", "SF", "SF999")
    event = _assert_event(ticket, K.REPAIR_SHIPPED, world.xavier)
    assert event.data["tracking"] == "SF999"
    assert "SF999" in shop.get(ticket.get_absolute_url()).text

    response = _shop(shop, ticket, "delivered")
    assert response.status_code == 302
    assert response["Location"] == ticket.get_absolute_url()
    repair = _repair(ticket)
    assert repair.step == "delivered"
    assert repair.delivered_at
    assert repair.is_over
    event = _assert_event(ticket, K.REPAIR_DELIVERED, world.alice)
    assert event.text == "The shop received its terminal back."


def test_send_in_steps_go_in_order(world, tech) -> None:  # noqa: ANN001
    ticket = warranty_ticket(world)
    _work(tech, ticket, "start_send_in", SEND_IN)
    _work(tech, ticket, "repaired")  # not received yet
    _work(tech, ticket, "ship_back", {"ship_back-courier": "SF", "ship_back-tracking": "1"})
    _work(tech, ticket, "old_returned")  # a swap's step
    assert _repair(ticket).step == "awaiting_unit"
    assert ticket.events.filter(kind__startswith="repair_").count() == 1


def test_a_swap_step_by_step(world, tech, shop) -> None:  # noqa: ANN001
    ticket = warranty_ticket(world)
    _work(tech, ticket, "start_swap", SWAP)
    _work(tech, ticket, "old_returned")  # the replacement has not arrived yet
    assert _repair(ticket).step == "replacement_shipped"
    page = shop.get(ticket.get_absolute_url()).text
    assert "LKL-00099" in page
    assert "JD0042" in page

    _shop(shop, ticket, "delivered")
    _assert_event(ticket, K.REPAIR_DELIVERED, world.alice)
    assert _repair(ticket).step == "delivered"
    assert "give the old terminal back" in shop.get(ticket.get_absolute_url()).text

    _work(tech, ticket, "old_returned")
    repair = _repair(ticket)
    assert repair.step == "old_returned"
    assert repair.old_returned_at
    assert repair.is_over
    _assert_event(ticket, K.REPAIR_OLD_RETURNED, world.xavier)


def test_the_technician_may_record_the_delivery_on_the_couriers_word(world, tech) -> None:  # noqa: ANN001
    ticket = warranty_ticket(world)
    _work(tech, ticket, "start_swap", SWAP)
    _work(tech, ticket, "delivered")
    assert _repair(ticket).step == "delivered"
    _assert_event(ticket, K.REPAIR_DELIVERED, world.xavier)


def test_a_visit_confirmed_by_the_shop(world, tech, shop) -> None:  # noqa: ANN001
    ticket = warranty_ticket(world)
    _work(tech, ticket, "start_visit", slot_post("visit"))
    page = shop.get(ticket.get_absolute_url()).text
    assert "confirm, or propose another time" in page

    _work(tech, ticket, "visited")  # not confirmed yet
    assert _repair(ticket).step == "visit_proposed"

    _shop(shop, ticket, "confirm")
    repair = _repair(ticket)
    assert repair.step == "visit_confirmed"
    assert repair.confirmed_at
    event = _assert_event(ticket, K.REPAIR_CONFIRMED, world.alice)
    assert event.data["start"] == repair.slot_start.isoformat()

    _work(tech, ticket, "visited")
    assert _repair(ticket).step == "visited"
    assert _repair(ticket).visited_at
    _assert_event(ticket, K.REPAIR_VISITED, world.xavier)


def test_the_shop_counters_and_the_technician_accepts(world, tech, shop) -> None:  # noqa: ANN001
    ticket = warranty_ticket(world)
    _work(tech, ticket, "start_visit", slot_post("visit"))
    counter = {**slot_post("counter", days=4, hour=14), "counter-note": "After lunch please"}
    _shop(shop, ticket, "counter", counter)
    repair = _repair(ticket)
    assert repair.step == "visit_countered"
    assert localtime(repair.counter_start).hour == 14
    event = _assert_event(ticket, K.REPAIR_COUNTERED, world.alice)
    assert event.body == "After lunch please"
    assert "The shop proposes" in event.text
    assert "After lunch please" in event.text

    _shop(shop, ticket, "confirm")  # nothing to confirm while the technician decides
    assert _repair(ticket).step == "visit_countered"

    _work(tech, ticket, "accept_counter")
    repair = _repair(ticket)
    assert repair.step == "visit_confirmed"
    assert localtime(repair.slot_start).hour == 14
    assert repair.counter_start is None
    _assert_event(ticket, K.REPAIR_CONFIRMED, world.xavier)


def test_the_technician_proposes_another_time_after_a_counter(world, tech, shop) -> None:  # noqa: ANN001
    ticket = warranty_ticket(world)
    _work(tech, ticket, "start_visit", slot_post("visit"))
    _shop(shop, ticket, "counter", slot_post("counter", days=4))
    _work(tech, ticket, "propose", slot_post("propose", days=5, hour=9))
    repair = _repair(ticket)
    assert repair.step == "visit_proposed"
    assert localtime(repair.slot_start).hour == 9
    _assert_event(ticket, K.REPAIR_VISIT, world.xavier)


def test_a_counter_with_a_bad_time_keeps_what_was_typed(world, tech, shop) -> None:  # noqa: ANN001
    ticket = warranty_ticket(world)
    _work(tech, ticket, "start_visit", slot_post("visit"))
    data = {**slot_post("counter"), "counter-end": "08:00", "counter-note": "Mornings only"}
    response = _shop(shop, ticket, "counter", data)
    assert response.status_code == 400
    assert "The visit must end after it starts." in response.text
    assert "Mornings only" in response.text
    assert _repair(ticket).step == "visit_proposed"


def test_the_merchant_cannot_take_the_technicians_steps(world, tech, shop) -> None:  # noqa: ANN001
    # The technician's URLs are in the workspace: a merchant gets 404 there.
    ticket = warranty_ticket(world)
    _work(tech, ticket, "start_send_in", SEND_IN)
    assert _work(shop, ticket, "received").status_code == 404
    assert _repair(ticket).step == "awaiting_unit"


def test_a_step_mails_the_technician_when_the_shop_takes_it(world, tech, shop) -> None:  # noqa: ANN001
    from mail.models import OutboundEmail

    ticket = warranty_ticket(world)
    _work(tech, ticket, "start_visit", slot_post("visit"))
    _shop(shop, ticket, "confirm")
    event = ticket.events.get(kind=K.REPAIR_CONFIRMED)
    assert [m.recipient for m in OutboundEmail.objects.filter(event=event)] == [world.xavier.email]


def test_a_repair_is_resolved_as_repaired_only_once_it_has_reached_the_shop(world, as_user) -> None:  # noqa: ANN001
    ticket = warranty_ticket(world)
    as_user(world.xavier).post(
        reverse("repairs:work_start_send_in", args=[ticket.reference]), SEND_IN
    )
    for step in ("received", "repaired"):
        with pytest.raises(workflow.NotAllowed, match="not reached the shop"):
            workflow.resolve(ticket, world.xavier, Ticket.Resolution.REPAIR_CENTRE, "")
        services.take_step(ticket, world.xavier, step)
    services.take_step(ticket, world.xavier, "ship_back", courier="SF", tracking="SF1")
    with pytest.raises(workflow.NotAllowed, match="not reached the shop"):
        workflow.resolve(ticket, world.xavier, Ticket.Resolution.REPAIR_CENTRE, "")
    services.take_step(ticket, world.alice, "delivered")

    workflow.resolve(ticket, world.xavier, Ticket.Resolution.REPAIR_CENTRE, "Reader replaced")

    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.RESOLVED


def test_a_repair_under_way_does_not_stop_a_resolution_that_is_not_a_repair(world, as_user) -> None:  # noqa: ANN001
    ticket = warranty_ticket(world)
    as_user(world.xavier).post(
        reverse("repairs:work_start_send_in", args=[ticket.reference]), SEND_IN
    )
    workflow.resolve(ticket, world.xavier, Ticket.Resolution.NO_FAULT, "Works on arrival")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.RESOLVED
