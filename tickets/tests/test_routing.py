"""tickets.routing: every row of the default routing table, the fallbacks, the text."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from devices.models import Provider
from tests.factories import DeviceFactory, ProviderFactory, TicketFactory
from tickets import routing
from tickets.models import Category, Queue, RoutingRule, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def _out_of_warranty(device) -> None:  # noqa: ANN001
    device.purchase_date = date.today() - timedelta(days=800)
    device.warranty_end = date.today() - timedelta(days=30)
    device.save()


def _unknown_warranty(device) -> None:  # noqa: ANN001
    device.purchase_date = None
    device.warranty_end = None
    device.save()


def _ticket(device, category: str, **fields) -> Ticket:  # noqa: ANN001, ANN003
    symptom = {"hardware": "screen", "transaction": "refund", "network": "wifi"}.get(
        category, "other"
    )
    return TicketFactory(device=device, category=category, symptom=symptom, **fields)


def _routed(ticket: Ticket) -> Ticket:
    routing.route(ticket.pk)
    ticket.refresh_from_db()
    return ticket


def test_transaction_fault_goes_to_the_acquirers_transaction_queue(world) -> None:
    device = DeviceFactory(
        merchant=world.merchant_a, provider=world.provider_y, acquirer=world.provider_x
    )
    ticket = _routed(_ticket(device, Category.TRANSACTION))
    assert ticket.queue == Queue.objects.get(
        provider=world.provider_x, kind=Queue.Kind.TRANSACTION_SUPPORT
    )
    assert ticket.billable is False
    assert ticket.needs_admin is False


@pytest.mark.parametrize("warranty", ["in", "out", "unknown"])
def test_transaction_fault_ignores_warranty(world, warranty: str) -> None:
    if warranty == "out":
        _out_of_warranty(world.device_a)
    elif warranty == "unknown":
        _unknown_warranty(world.device_a)
    ticket = _routed(_ticket(world.device_a, Category.TRANSACTION))
    assert ticket.queue.kind == Queue.Kind.TRANSACTION_SUPPORT


@pytest.mark.parametrize("category", [Category.NETWORK, Category.SOFTWARE])
def test_network_and_software_faults_go_to_remote_support(world, category: str) -> None:
    _out_of_warranty(world.device_b)
    ticket = _routed(_ticket(world.device_b, category))
    assert ticket.queue == Queue.objects.get(
        provider=world.provider_y, kind=Queue.Kind.REMOTE_SUPPORT
    )
    assert ticket.billable is False


def test_hardware_in_warranty_goes_to_free_warranty_repair(world) -> None:
    ticket = _routed(_ticket(world.device_a, Category.HARDWARE))
    assert ticket.queue == Queue.objects.get(
        provider=world.provider_x, kind=Queue.Kind.WARRANTY_REPAIR
    )
    assert ticket.billable is False


def test_hardware_out_of_warranty_goes_to_billable_paid_repair(world) -> None:
    _out_of_warranty(world.device_a)
    ticket = _routed(_ticket(world.device_a, Category.HARDWARE))
    assert ticket.queue == Queue.objects.get(provider=world.provider_x, kind=Queue.Kind.PAID_REPAIR)
    assert ticket.billable is True


def test_voided_warranty_counts_as_out(world) -> None:
    world.device_a.warranty_void = True
    world.device_a.warranty_void_reason = "Liquid damage"
    world.device_a.save()
    ticket = _routed(_ticket(world.device_a, Category.HARDWARE))
    assert ticket.queue.kind == Queue.Kind.PAID_REPAIR
    assert ticket.routing_note.startswith("Warranty void")


@pytest.mark.parametrize("category", [Category.HARDWARE, Category.OTHER])
def test_unknown_warranty_goes_to_the_providers_triage(world, category: str) -> None:
    _unknown_warranty(world.device_a)
    ticket = _routed(_ticket(world.device_a, category))
    assert ticket.queue == Queue.objects.get(provider=world.provider_x, kind=Queue.Kind.TRIAGE)
    assert ticket.billable is None
    assert ticket.needs_admin is False


def test_other_category_with_known_warranty_has_no_rule_and_falls_back(world) -> None:
    ticket = _routed(_ticket(world.device_a, Category.OTHER))
    assert ticket.queue == Queue.objects.get(provider=None, kind=Queue.Kind.TRIAGE)
    assert ticket.needs_admin is True
    assert ticket.status == Ticket.Status.QUEUED
    assert ticket.routing_note.startswith("No routing rule fits this ticket")


def test_no_active_rule_falls_back_to_platform_triage(world) -> None:
    RoutingRule.objects.update(active=False)
    ticket = _routed(_ticket(world.device_a, Category.HARDWARE))
    assert ticket.queue.provider is None
    assert ticket.needs_admin is True


def test_a_rule_whose_provider_lacks_the_queue_falls_back(world) -> None:
    Queue.objects.filter(provider=world.provider_x, kind=Queue.Kind.WARRANTY_REPAIR).delete()
    ticket = _routed(_ticket(world.device_a, Category.HARDWARE))
    assert ticket.queue.provider is None
    assert ticket.needs_admin is True
    assert "Provider X has no active warranty repair queue" in ticket.routing_note


def test_an_inactive_queue_counts_as_missing(world) -> None:
    Queue.objects.filter(provider=world.provider_x, kind=Queue.Kind.WARRANTY_REPAIR).update(
        active=False
    )
    ticket = _routed(_ticket(world.device_a, Category.HARDWARE))
    assert ticket.needs_admin is True


def test_transaction_fault_on_a_device_without_acquirer_falls_back(world) -> None:
    device = DeviceFactory(merchant=world.merchant_a, provider=world.provider_x, acquirer=None)
    ticket = _routed(_ticket(device, Category.TRANSACTION))
    assert ticket.queue.provider is None
    assert ticket.needs_admin is True
    assert "acquirer, but none is recorded" in ticket.routing_note


def test_transaction_fault_when_the_acquirer_is_not_a_bank_falls_back(world) -> None:
    # A third-party service provider gets no transaction support queue.
    third_party = ProviderFactory(kind=Provider.Kind.THIRD_PARTY)
    device = DeviceFactory(merchant=world.merchant_a, provider=third_party, acquirer=third_party)
    ticket = _routed(_ticket(device, Category.TRANSACTION))
    assert ticket.needs_admin is True


def test_the_platform_triage_queue_is_recreated_if_deleted(world) -> None:
    Queue.objects.filter(provider=None).delete()
    ticket = _routed(_ticket(world.device_a, Category.OTHER))
    assert ticket.queue.provider is None
    assert ticket.queue.kind == Queue.Kind.TRIAGE


def test_first_matching_rule_wins_by_order(world) -> None:
    RoutingRule.objects.create(
        order=1,
        name="Provider X hardware always to triage",
        category=Category.HARDWARE,
        provider=world.provider_x,
        target_kind=Queue.Kind.TRIAGE,
    )
    ticket = _routed(_ticket(world.device_a, Category.HARDWARE))
    assert ticket.queue.kind == Queue.Kind.TRIAGE
    other = _routed(_ticket(world.device_b, Category.HARDWARE))
    assert other.queue.kind == Queue.Kind.WARRANTY_REPAIR


def test_routing_sets_priority_sla_due_and_status(world) -> None:
    before = timezone.now()
    ticket = _routed(
        _ticket(
            world.device_a,
            Category.HARDWARE,
            can_take_payments=Ticket.Payments.DEGRADED,
            priority=3,
        )
    )
    assert ticket.status == Ticket.Status.QUEUED
    assert ticket.priority == 2
    assert ticket.routed_at >= before
    minutes = ticket.queue.first_response_minutes(2)
    assert ticket.first_response_due == ticket.routed_at + timedelta(minutes=minutes)
    assert ticket.resolution_due == ticket.routed_at + timedelta(
        minutes=ticket.queue.resolution_minutes(2)
    )


def test_routed_event_explains_in_plain_words(world) -> None:
    end = world.device_a.warranty_end
    ticket = _routed(_ticket(world.device_a, Category.HARDWARE, can_take_payments="degraded"))
    expected = (
        f"In warranty until {end:%Y-%m-%d}: free repair by Provider X, first reply within 4 h."
    )
    assert ticket.routing_note == expected
    event = ticket.events.get(kind=TicketEvent.Kind.ROUTED)
    assert event.text == expected
    assert event.body == ""  # facts are stored, the sentence is built when read
    assert event.public is True
    assert event.data["queue"] == ticket.queue_id


def test_explanations_for_each_kind_of_queue(world) -> None:
    _out_of_warranty(world.device_a)
    paid = _routed(_ticket(world.device_a, Category.HARDWARE))
    assert paid.routing_note.startswith("Out of warranty since ")
    assert "paid repair by Provider X; you accept a quote before any work" in paid.routing_note
    txn = _routed(_ticket(world.device_a, Category.TRANSACTION))
    assert txn.routing_note == (
        "Payment problem: handled by Provider X, who acquires this terminal's payments, "
        "first reply within 1 h."
    )
    network = _routed(_ticket(world.device_a, Category.NETWORK))
    assert network.routing_note == (
        "Network fault: remote support by Provider X, first reply within 30 min."
    )
    _unknown_warranty(world.device_a)
    triage = _routed(_ticket(world.device_a, Category.HARDWARE))
    assert triage.routing_note == (
        "Warranty unknown: Provider X checks the proof of purchase first, first reply within 1 h."
    )


def test_routing_twice_writes_one_routed_event(world) -> None:
    ticket = _ticket(world.device_a, Category.HARDWARE)
    routing.route(ticket.pk)
    first = Ticket.objects.get(pk=ticket.pk)
    routing.route(ticket.pk)
    again = Ticket.objects.get(pk=ticket.pk)
    assert ticket.events.filter(kind=TicketEvent.Kind.ROUTED).count() == 1
    assert again.routed_at == first.routed_at
    assert again.first_response_due == first.first_response_due


def test_a_ticket_cancelled_before_routing_is_left_alone(world) -> None:
    ticket = _ticket(world.device_a, Category.HARDWARE, status=Ticket.Status.CANCELLED)
    routing.route(ticket.pk)
    ticket.refresh_from_db()
    assert ticket.queue is None
    assert not ticket.events.exists()


def test_routing_a_missing_ticket_does_nothing(db) -> None:
    assert routing.route(999999) is None


def test_the_rules_see_the_warranty_frozen_at_filing(world) -> None:
    ticket = _ticket(world.device_a, Category.HARDWARE)
    _out_of_warranty(world.device_a)  # edited after filing
    assert _routed(ticket).queue.kind == Queue.Kind.WARRANTY_REPAIR


def test_format_minutes() -> None:
    assert routing.format_minutes(30) == "30 min"
    assert routing.format_minutes(240) == "4 h"
    assert routing.format_minutes(90) == "1 h 30 min"


def test_the_explanation_is_worded_in_the_readers_language(world) -> None:  # noqa: ANN001
    from django.utils import translation

    ticket = _routed(_ticket(world.device_a, Category.HARDWARE))
    event = ticket.events.get(kind=TicketEvent.Kind.ROUTED)
    with translation.override("zh-hans"):
        chinese = (ticket.routing_explanation, event.text)
    with translation.override("en"):
        english = (ticket.routing_explanation, event.text)
    assert english[0].startswith("In warranty until")
    assert chinese[0] != english[0]
    assert chinese[1] != english[1]
    assert "Provider X" in chinese[0]
