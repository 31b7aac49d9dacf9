"""Deliveries reach a real HTTP server, signed, and are retried after a failure."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from outages import services as outages
from tests.factories import queued_ticket
from tickets import workflow
from tickets.models import Ticket
from webhooks import services
from webhooks.models import Delivery, DeliveryAttempt, Endpoint, Event

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("loopback_allowed")]


def verify(secret: str, headers: dict[str, str], body: bytes, tolerance: int = 300) -> bool:
    """The README's verification snippet, as a receiver would write it."""
    import time

    timestamp = headers["X-PosDesk-Timestamp"]
    if abs(time.time() - int(timestamp)) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest("v1=" + expected.hexdigest(), headers["X-PosDesk-Signature"])


def _endpoint(provider, url: str, events: list[str]) -> Endpoint:  # noqa: ANN001
    return Endpoint.objects.create(provider=provider, url=url, events=events)


def test_a_merchant_reply_is_delivered_signed_and_retried_after_a_500(
    world, receiver, django_capture_on_commit_callbacks
) -> None:
    endpoint = _endpoint(world.provider_x, receiver.url, [Event.MERCHANT_REPLIED])
    ticket = queued_ticket(world.device_a)
    receiver.answers = [500]

    with django_capture_on_commit_callbacks(execute=True):
        event = workflow.merchant_reply(ticket, world.alice, "The screen is still dark.")

    assert len(receiver.requests) == 1
    first = receiver.requests[0]
    assert first.path == "/hooks/posdesk"
    assert first.headers["X-PosDesk-Event"] == "ticket.merchant_replied"
    assert verify(endpoint.secret, first.headers, first.body)
    assert not verify("whsec_someone_else", first.headers, first.body)
    payload = json.loads(first.body)
    assert payload["event"] == "ticket.merchant_replied"
    assert payload["data"]["ticket"]["reference"] == ticket.reference
    assert payload["data"]["ticket_event"]["id"] == event.pk
    assert payload["data"]["ticket_event"]["body"] == "The screen is still dark."

    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.attempts == 1
    assert delivery.last_status_code == 500
    attempt = DeliveryAttempt.objects.get()
    assert (attempt.status_code, attempt.response) == (500, "oops")
    assert delivery.next_attempt_at > timezone.now()

    # Nothing is due before the backoff has passed ...
    assert services.sweep()["delivered"] == 0
    assert len(receiver.requests) == 1
    # ... then the sweep tries again, and the endpoint takes it.
    assert services.sweep(now=delivery.next_attempt_at)["delivered"] == 1
    assert len(receiver.requests) == 2
    second = receiver.requests[1]
    assert second.body == first.body  # the same body and delivery id: a receiver can dedupe
    assert second.headers["X-PosDesk-Delivery"] == first.headers["X-PosDesk-Delivery"]
    assert verify(endpoint.secret, second.headers, second.body)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 2, 200)
    assert DeliveryAttempt.objects.filter(delivery=delivery).count() == 2


def test_only_the_provider_whose_queue_holds_the_ticket_hears_of_it(
    world, receiver, django_capture_on_commit_callbacks
) -> None:
    _endpoint(world.provider_y, receiver.url, [Event.MERCHANT_REPLIED])
    _endpoint(world.provider_x, receiver.url + "/resolved", [Event.TICKET_RESOLVED])
    ticket = queued_ticket(world.device_a)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.merchant_reply(ticket, world.alice, "Hello?")
    assert receiver.requests == []
    assert not Delivery.objects.exists()


def test_resolved_and_reopened_are_sent(
    world, receiver, django_capture_on_commit_callbacks
) -> None:
    _endpoint(world.provider_x, receiver.url, [Event.TICKET_RESOLVED, Event.TICKET_REOPENED])
    ticket = queued_ticket(world.device_a)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.claim(ticket, world.xavier)
        workflow.resolve(ticket, world.xavier, Ticket.Resolution.REMOTE_FIX, "Reset it")
        workflow.reopen(ticket, world.alice, "Dark again")
    assert [r.headers["X-PosDesk-Event"] for r in receiver.requests] == [
        "ticket.resolved",
        "ticket.reopened",
    ]


def test_a_rolled_back_event_writes_no_delivery(world, receiver) -> None:
    _endpoint(world.provider_x, receiver.url, [Event.MERCHANT_REPLIED])
    ticket = queued_ticket(world.device_a)
    written = []

    def reply_then_fail() -> None:
        with transaction.atomic():
            workflow.merchant_reply(ticket, world.alice, "Hello?")
            written.append(Delivery.objects.count())
            raise RuntimeError

    with pytest.raises(RuntimeError):
        reply_then_fail()
    assert written == [1]
    assert not Delivery.objects.exists()


def test_with_the_broker_down_the_delivery_waits_for_the_sweep(
    world, receiver, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    _endpoint(world.provider_x, receiver.url, [Event.MERCHANT_REPLIED])
    ticket = queued_ticket(world.device_a)
    monkeypatch.setattr(services, "enqueue_delivery", lambda ids: None)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.merchant_reply(ticket, world.alice, "Hello?")
    assert receiver.requests == []
    assert services.sweep()["delivered"] == 1
    assert len(receiver.requests) == 1


def test_an_opened_incident_is_sent(world, receiver, django_capture_on_commit_callbacks) -> None:
    _endpoint(world.provider_x, receiver.url, [Event.INCIDENT_OPENED])
    with django_capture_on_commit_callbacks(execute=True):
        incident = outages.declare(
            provider=world.provider_x, user=world.xavier, category="network", summary="Fibre cut"
        )
    (request,) = receiver.requests
    payload = json.loads(request.body)
    assert payload["event"] == "incident.opened"
    assert payload["data"]["incident"]["id"] == incident.pk
    assert payload["data"]["incident"]["summary"] == "Fibre cut"


def test_a_redirect_is_not_followed(world, receiver, django_capture_on_commit_callbacks) -> None:
    _endpoint(world.provider_x, receiver.url, [Event.MERCHANT_REPLIED])
    ticket = queued_ticket(world.device_a)
    receiver.answers = [302]
    with django_capture_on_commit_callbacks(execute=True):
        workflow.merchant_reply(ticket, world.alice, "Hello?")
    assert len(receiver.requests) == 1
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.last_status_code) == ("pending", 302)


def test_retries_back_off_and_give_up_after_a_day(
    world, receiver, settings, django_capture_on_commit_callbacks
) -> None:
    settings.WEBHOOKS_BACKOFF_BASE_SECONDS = 10
    settings.WEBHOOKS_BACKOFF_MAX_SECONDS = 3600
    _endpoint(world.provider_x, receiver.url, [Event.MERCHANT_REPLIED])
    ticket = queued_ticket(world.device_a)
    receiver.answers = [503] * 100
    with django_capture_on_commit_callbacks(execute=True):
        workflow.merchant_reply(ticket, world.alice, "Hello?")
    delivery = Delivery.objects.get()
    waits = []
    now = timezone.now()
    while delivery.status == Delivery.Status.PENDING:
        now = delivery.next_attempt_at
        services.sweep(now=now)
        previous = delivery.next_attempt_at
        delivery.refresh_from_db()
        waits.append((delivery.next_attempt_at - previous).total_seconds())
    assert waits[:4] == [20, 40, 80, 160]
    assert max(waits) == 3600
    assert delivery.status == Delivery.Status.FAILED
    assert now - delivery.first_failure_at >= timedelta(hours=24)
    assert now - delivery.first_failure_at < timedelta(hours=25)


def test_a_manager_redelivers(world, receiver, django_capture_on_commit_callbacks) -> None:
    _endpoint(world.provider_x, receiver.url, [Event.MERCHANT_REPLIED])
    ticket = queued_ticket(world.device_a)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.merchant_reply(ticket, world.alice, "Hello?")
    delivery = Delivery.objects.get(status=Delivery.Status.DELIVERED)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.redeliver(delivery)
    assert len(receiver.requests) == 2
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)


def test_routing_a_ticket_is_sent_to_the_provider_it_lands_with(
    world, receiver, django_capture_on_commit_callbacks
) -> None:
    from tests.factories import TicketFactory
    from tickets.routing import route

    _endpoint(world.provider_x, receiver.url, [Event.TICKET_ROUTED])
    ticket = TicketFactory(device=world.device_a, reporter=world.alice)
    with django_capture_on_commit_callbacks(execute=True):
        route(ticket.pk)
    (request,) = receiver.requests
    payload = json.loads(request.body)
    assert payload["event"] == "ticket.routed"
    assert payload["data"]["ticket"]["queue"]["name"].startswith("Provider X")
    assert payload["data"]["ticket_event"]["kind"] == "routed"


def test_a_quote_decision_is_sent(world, receiver, django_capture_on_commit_callbacks) -> None:
    from decimal import Decimal

    _endpoint(world.provider_x, receiver.url, [Event.QUOTE_DECIDED])
    ticket = queued_ticket(world.device_a, kind="paid_repair", billable=True)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.send_quote(ticket, world.xavier, Decimal("350"), "New display")
        workflow.decline_quote(ticket, world.alice)
    (request,) = receiver.requests
    payload = json.loads(request.body)
    assert payload["data"]["ticket_event"]["kind"] == "quote_declined"
    assert payload["data"]["ticket_event"]["data"]["amount"] == "350.00"


def test_many_events_at_once_cost_a_fixed_number_of_queries(
    world, receiver, django_assert_max_num_queries
) -> None:
    """An incident resolves its tickets with one event writer call (record_many)."""
    from tickets.events import record_many
    from tickets.models import TicketEvent

    _endpoint(world.provider_x, receiver.url, [Event.TICKET_RESOLVED])
    tickets = [queued_ticket(world.device_a) for _ in range(12)]
    pairs = [(ticket.pk, world.provider_x.pk) for ticket in tickets]
    with django_assert_max_num_queries(6):
        record_many(pairs, TicketEvent.Kind.RESOLVED, world.xavier, data={"incident": 1})
    assert Delivery.objects.count() == 12
    assert set(Delivery.objects.values_list("event", flat=True)) == {"ticket.resolved"}


def test_a_task_cut_short_gives_back_what_it_did_not_try(world, monkeypatch) -> None:  # noqa: ANN001
    from celery.exceptions import SoftTimeLimitExceeded

    endpoint = _endpoint(world.provider_x, "http://127.0.0.1:9/hook", [Event.MERCHANT_REPLIED])
    for n in range(3):
        Delivery.objects.create(
            endpoint=endpoint, event=Event.MERCHANT_REPLIED, source=f"s:{n}", body="{}"
        )

    def slow(url, body, headers, *, timeout):  # noqa: ANN001, ANN202
        raise SoftTimeLimitExceeded

    monkeypatch.setattr(services.http, "post", slow)
    with pytest.raises(SoftTimeLimitExceeded):
        services.deliver()
    rows = list(Delivery.objects.order_by("pk").values_list("status", "attempts"))
    # The first was in flight: its lease brings it back. The other two are due now.
    assert rows == [("sending", 1), ("pending", 0), ("pending", 0)]
