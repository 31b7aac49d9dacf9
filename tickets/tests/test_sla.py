"""SLA services: breaches marked once with an event, auto-close, the clock on list rows."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from conftest import World
from tests.factories import queued_ticket
from tickets import sla, tasks, workflow
from tickets.models import Ticket, TicketEvent

S = Ticket.Status
BREACH = TicketEvent.Kind.SLA_BREACHED


@pytest.fixture
def now():  # noqa: ANN201
    return timezone.now().replace(microsecond=0)


def ticket_of(world: World, **kwargs: object) -> Ticket:
    return queued_ticket(world.device_a, reporter=world.alice, **kwargs)


def breach_events(ticket: Ticket) -> list[TicketEvent]:
    return list(ticket.events.filter(kind=BREACH).order_by("id"))


# mark_breaches -------------------------------------------------------------------------


def test_a_late_first_response_is_marked_once_with_an_internal_event(world: World, now) -> None:  # noqa: ANN001
    ticket = ticket_of(world, now=now)  # P1 in warranty repair: first response in 60 min
    assert sla.mark_breaches(now + timedelta(minutes=59)) == 0
    later = now + timedelta(minutes=61)
    assert sla.mark_breaches(later) == 1
    assert sla.mark_breaches(later + timedelta(minutes=5)) == 0
    ticket.refresh_from_db()
    assert ticket.first_response_breached_at == later
    assert ticket.resolution_breached_at is None
    (event,) = breach_events(ticket)
    assert (event.public, event.actor, event.data["which"]) == (False, None, "first_response")
    assert "First response overdue" in event.text


def test_a_late_resolution_is_marked_once_too(world: World, now) -> None:  # noqa: ANN001
    ticket = ticket_of(world, now=now, status=S.IN_PROGRESS, assigned_to=world.xavier)
    workflow.reply(ticket, world.xavier, "On my way")  # answered: only the resolution is late
    ticket.refresh_from_db()
    after = ticket.resolution_due + timedelta(minutes=1)
    assert sla.mark_breaches(after) == 1
    assert sla.mark_breaches(after) == 0
    ticket.refresh_from_db()
    assert ticket.first_response_breached_at is None
    assert ticket.resolution_breached_at == after
    assert [e.data["which"] for e in breach_events(ticket)] == ["resolution"]


def test_both_breaches_of_one_ticket_are_two_events(world: World, now) -> None:  # noqa: ANN001
    ticket = ticket_of(world, now=now)
    assert sla.mark_breaches(now + timedelta(days=30)) == 2
    assert {e.data["which"] for e in breach_events(ticket)} == {"first_response", "resolution"}


def test_breach_events_are_announced_so_technicians_hear_of_them(world: World, now) -> None:  # noqa: ANN001
    ticket_of(world, now=now)
    with mock.patch("tickets.notifications.announce_event") as announce:
        sla.mark_breaches(now + timedelta(hours=2))
    (event,) = [call.args[0] for call in announce.call_args_list]
    assert event.kind == BREACH


def test_no_breach_while_waiting_on_the_merchant(world: World, now) -> None:  # noqa: ANN001
    ticket = ticket_of(world, now=now, status=S.IN_PROGRESS, assigned_to=world.xavier)
    with mock.patch.object(timezone, "now", return_value=now + timedelta(minutes=5)):
        workflow.ask(ticket, world.xavier, "Which error code?")
    assert sla.mark_breaches(now + timedelta(days=30)) == 0
    ticket.refresh_from_db()
    assert ticket.resolution_breached_at is None


def test_a_breach_before_the_pause_is_still_a_breach(world: World, now) -> None:  # noqa: ANN001
    ticket = ticket_of(world, now=now, status=S.IN_PROGRESS, assigned_to=world.xavier)
    late = ticket.resolution_due + timedelta(hours=1)
    with mock.patch.object(timezone, "now", return_value=late):
        workflow.ask(ticket, world.xavier, "Still broken?")
    assert sla.mark_breaches(late + timedelta(hours=1)) == 1
    ticket.refresh_from_db()
    assert ticket.resolution_breached_at is not None


@pytest.mark.parametrize("status", [S.RESOLVED, S.CLOSED, S.CANCELLED])
def test_finished_tickets_are_never_marked(world: World, now, status: str) -> None:  # noqa: ANN001
    ticket_of(world, now=now, status=status)
    assert sla.mark_breaches(now + timedelta(days=30)) == 0


def test_the_beat_task_marks_breaches(world: World) -> None:
    ticket = ticket_of(world, now=timezone.now() - timedelta(days=30))
    assert tasks.mark_sla_breaches.apply().get() == 2
    ticket.refresh_from_db()
    assert ticket.resolution_breached_at is not None


# close_stale_resolved --------------------------------------------------------------------


def resolved_ticket(world: World, at) -> Ticket:  # noqa: ANN001
    ticket = ticket_of(world, status=S.IN_PROGRESS, assigned_to=world.xavier)
    with mock.patch.object(timezone, "now", return_value=at):
        workflow.resolve(ticket, world.xavier, Ticket.Resolution.REMOTE_FIX, "Reset")
    ticket.refresh_from_db()
    return ticket


def test_a_week_without_an_answer_closes_the_ticket_saying_so(world: World, now) -> None:  # noqa: ANN001
    stale = resolved_ticket(world, now - timedelta(days=7, minutes=1))
    fresh = resolved_ticket(world, now - timedelta(days=6, hours=23))
    assert sla.close_stale_resolved(now) == 1
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert (stale.status, stale.closed_at) == (S.CLOSED, now)
    assert fresh.status == S.RESOLVED
    event = stale.events.get(kind=TicketEvent.Kind.CLOSED)
    assert event.public
    assert event.actor is None
    assert "no answer 7 days after the fix" in event.text
    assert sla.close_stale_resolved(now) == 0


def test_a_reopened_ticket_is_not_closed(world: World, now) -> None:  # noqa: ANN001
    ticket = resolved_ticket(world, now - timedelta(days=10))
    workflow.reopen(ticket, world.alice, "Still dark")
    assert sla.close_stale_resolved(now) == 0
    ticket.refresh_from_db()
    assert ticket.status == S.IN_PROGRESS


def test_auto_close_refuses_a_ticket_resolved_again_since_it_was_picked(
    world: World,
    now,  # noqa: ANN001
) -> None:
    ticket = resolved_ticket(world, now - timedelta(days=1))
    with pytest.raises(workflow.NotAllowed):
        workflow.auto_close(ticket, 7, now=now)


def test_the_beat_task_closes_stale_tickets(world: World) -> None:
    ticket = resolved_ticket(world, timezone.now() - timedelta(days=8))
    assert tasks.close_stale_resolved.apply().get() == 1
    ticket.refresh_from_db()
    assert ticket.status == S.CLOSED


# Overdue first, and the clock on a row ---------------------------------------------------


def test_overdue_and_the_sla_due_annotation_agree(world: World, now) -> None:  # noqa: ANN001
    late = ticket_of(world, now=now - timedelta(hours=2))
    soon = ticket_of(world, now=now)
    paused_in_time = ticket_of(
        world,
        now=now - timedelta(hours=2),
        sla_paused_at=now - timedelta(hours=2),
        first_responded_at=now - timedelta(hours=2),
    )
    paused_late = ticket_of(
        world, now=now - timedelta(days=3), sla_paused_at=now - timedelta(hours=1)
    )
    ticket_of(world, now=now - timedelta(days=30), status=S.RESOLVED)
    overdue = set(Ticket.objects.overdue(now))
    assert overdue == {late, paused_late}
    annotated = Ticket.objects.open().with_sla_due(now)
    assert {t for t in annotated if t.sla_due < now} == overdue
    ordered = list(Ticket.objects.open().most_urgent_first(now))
    assert set(ordered[:2]) == overdue
    assert ordered[2:] == [soon, paused_in_time]


def test_the_clock_says_time_left_overdue_or_paused(world: World, now) -> None:  # noqa: ANN001
    ticket = ticket_of(world, now=now)
    left = sla.clock(ticket, now + timedelta(minutes=15))
    assert (left.overdue, left.text) == (False, "45 min left")
    late = sla.clock(ticket, now + timedelta(hours=3, minutes=10))
    assert (late.overdue, late.text) == (True, "overdue by 2 h 10 min")
    ticket.sla_paused_at = now + timedelta(minutes=30)
    paused = sla.clock(ticket, now + timedelta(days=2))
    assert (paused.overdue, paused.paused, paused.text) == (False, True, "paused")
    ticket.status = S.RESOLVED
    assert sla.clock(ticket, now).text == ""


def test_a_breach_mails_the_providers_technicians_only(
    world: World,
    now,  # noqa: ANN001
    django_capture_on_commit_callbacks,  # noqa: ANN001
    mailoutbox,  # noqa: ANN001
) -> None:
    ticket_of(
        world, now=now, status=S.IN_PROGRESS, assigned_to=world.xavier, first_responded_at=now
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert sla.mark_breaches(now + timedelta(days=30)) == 1
    recipients = {address for mail in mailoutbox for address in mail.to}
    assert recipients == {world.xavier.email, world.xena.email}
