"""The Celery tasks: no-loss options, retries on database errors, e-mail task."""

from __future__ import annotations

from unittest import mock

import pytest
from django.core import mail
from django.db import InterfaceError, OperationalError

from tests.factories import TicketFactory
from tickets import routing
from tickets.models import Ticket
from tickets.tasks import route_ticket, send_event_email, sweep_unrouted

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("task", [route_ticket, send_event_email, sweep_unrouted])
def test_tasks_are_acknowledged_after_the_work(task) -> None:  # noqa: ANN001
    assert task.acks_late is True
    assert task.reject_on_worker_lost is True


def test_routing_retries_with_backoff_on_database_errors() -> None:
    assert set(route_ticket.autoretry_for) == {OperationalError, InterfaceError}
    assert route_ticket.retry_backoff
    assert 0 < route_ticket.max_retries <= 10


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_a_passing_database_error_is_retried_until_routed(world, error: type) -> None:
    ticket = TicketFactory(device=world.device_a)
    real_route = routing.route
    calls = {"n": 0}

    def flaky(ticket_id: int):  # noqa: ANN202
        calls["n"] += 1
        if calls["n"] < 3:
            raise error("the server closed the connection unexpectedly")
        return real_route(ticket_id)

    with (
        mock.patch("tickets.routing.route", side_effect=flaky),
        mock.patch.object(route_ticket, "retry_backoff", False),
        mock.patch.object(route_ticket, "default_retry_delay", 0),
    ):
        route_ticket.apply(args=(ticket.pk,))
    assert calls["n"] == 3
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.QUEUED


def test_the_email_task_sends_the_events_mail(world) -> None:
    ticket = TicketFactory(device=world.device_a)
    routing.route(ticket.pk)
    event = ticket.events.get(kind="routed")
    assert send_event_email.apply(args=(event.pk,)).get() == 3  # alice, xavier, xena
    assert len(mail.outbox) == 3
