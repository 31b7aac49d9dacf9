"""Automatic assignment (issue 14, item 7): off, round-robin or fewest open, among the
technicians on duty; an untouched automatically assigned P1 moves on; two tickets
arriving at once go to two different technicians (threads on PostgreSQL)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from conftest import World
from devices.models import Membership
from tests.factories import UserFactory, member_of, queued_ticket
from tickets import assignment, workflow
from tickets.models import Queue, Ticket, TicketEvent
from tickets.tests.test_claim_race import race

pytestmark = pytest.mark.django_db


def desk(world: World, mode: str, **fields: object) -> Queue:
    queue = Queue.objects.get(provider=world.provider_x, kind=Queue.Kind.WARRANTY_REPAIR)
    queue.assignment = mode
    for name, value in fields.items():
        setattr(queue, name, value)
    queue.save()
    Membership.objects.filter(user__in=[world.xavier, world.xena]).update(on_duty=True)
    return queue


def routed(world: World, **fields: object) -> Ticket:
    """A ticket just routed into X's warranty queue, with the routing task's assignment."""
    ticket = queued_ticket(world.device_a, reporter=world.alice, **fields)
    assignment.assign_routed(ticket)
    ticket.refresh_from_db()
    return ticket


def test_off_assigns_nobody(world: World) -> None:
    desk(world, Queue.Assignment.OFF)
    assert routed(world).assigned_to is None


def test_round_robin_takes_turns_among_those_on_duty(world: World) -> None:
    desk(world, Queue.Assignment.ROUND_ROBIN)
    off_duty = member_of(UserFactory(username="olga"), provider=world.provider_x)
    got = [routed(world).assigned_to for _ in range(4)]
    assert got == [world.xavier, world.xena, world.xavier, world.xena]
    assert off_duty not in got
    ticket = Ticket.objects.filter(assigned_to=world.xavier).first()
    assert ticket.status == Ticket.Status.IN_PROGRESS
    event = ticket.events.get(kind=TicketEvent.Kind.ASSIGNED)
    assert (event.actor, event.public, event.data["reason"]) == (None, False, "routed")


def test_fewest_open_goes_to_the_least_loaded(world: World) -> None:
    desk(world, Queue.Assignment.FEWEST_OPEN)
    for _ in range(2):
        workflow.claim(queued_ticket(world.device_a), world.xavier)
    assert routed(world).assigned_to == world.xena
    assert routed(world).assigned_to == world.xena
    # Now two each: the tie goes to the first of them.
    assert routed(world).assigned_to == world.xavier


def test_nobody_on_duty_leaves_the_ticket_in_the_queue(world: World) -> None:
    desk(world, Queue.Assignment.ROUND_ROBIN)
    Membership.objects.update(on_duty=False)
    ticket = routed(world)
    assert (ticket.assigned_to, ticket.status) == (None, Ticket.Status.QUEUED)


def test_an_untouched_p1_goes_to_the_next_on_duty(world: World) -> None:
    desk(world, Queue.Assignment.ROUND_ROBIN, p1_reassign_minutes=10)
    ticket = routed(world, priority=1)
    first = ticket.assigned_to
    now = timezone.now()
    assert assignment.reassign_untouched_p1(now + timedelta(minutes=9)) == 0
    assert assignment.reassign_untouched_p1(now + timedelta(minutes=11)) == 1
    ticket.refresh_from_db()
    assert ticket.assigned_to not in (None, first)
    # One the technician answered stays theirs.
    answered = routed(world, priority=1)
    workflow.reply(answered, answered.assigned_to, "On my way.")
    kept = answered.assigned_to
    assignment.reassign_untouched_p1(timezone.now() + timedelta(minutes=30))
    answered.refresh_from_db()
    assert answered.assigned_to == kept


def test_a_person_assigning_ends_the_automatic_reassignment(world: World) -> None:
    desk(world, Queue.Assignment.ROUND_ROBIN, p1_reassign_minutes=10)
    ticket = routed(world, priority=1)
    other = world.xena if ticket.assigned_to == world.xavier else world.xavier
    workflow.assign(ticket, ticket.assigned_to, other)
    assert assignment.reassign_untouched_p1(timezone.now() + timedelta(hours=1)) == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL and threads")
@pytest.mark.django_db(transaction=True)
def test_two_tickets_arriving_at_once_go_to_two_technicians(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk(world, Queue.Assignment.ROUND_ROBIN)
    tickets = [queued_ticket(world.device_a, reporter=world.alice) for _ in range(2)]
    chosen = assignment.choose

    def slow_choose(*args: object, **kwargs: object) -> object:
        picked = chosen(*args, **kwargs)
        time.sleep(0.3)  # chosen, not yet written: where a second choice would slip in
        return picked

    monkeypatch.setattr(assignment, "choose", slow_choose)
    results = race(*[(lambda t=t: assignment.assign_routed(t)) for t in tickets])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert set(results) == {world.xavier, world.xena}


def test_a_technician_goes_on_and_off_duty_from_the_workspace(world: World, as_user) -> None:  # noqa: ANN001
    from django.urls import reverse

    client = as_user(world.xavier)
    assert 'aria-pressed="false"' in client.get(reverse("tickets:work")).content.decode()
    client.post(reverse("tickets:work_duty"), {"on_duty": "1"})
    assert Membership.objects.get(user=world.xavier).on_duty
    assert 'aria-pressed="true"' in client.get(reverse("tickets:work")).content.decode()
    client.post(reverse("tickets:work_duty"), {"on_duty": "0"})
    assert not Membership.objects.get(user=world.xavier).on_duty
    # A merchant has no duty to take.
    assert (
        as_user(world.alice).post(reverse("tickets:work_duty"), {"on_duty": "1"}).status_code == 404
    )
    assert not Membership.objects.get(user=world.alice).on_duty
