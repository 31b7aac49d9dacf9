"""Two technicians claim the same ticket at the same moment: exactly one wins.

Real threads, each with its own PostgreSQL connection, released together by a barrier.
The winner is held inside its transaction for a moment, so the loser's claim really
arrives while the first one is still deciding: only the row lock keeps them apart.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from django.db import connection, connections
from django.urls import reverse

from conftest import World, client_for
from tests.factories import queued_ticket
from tickets import workflow
from tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL row locks and real threads"
)


def race(*contenders: Callable[[], object]) -> list[object]:
    """Run each contender in its own thread, all released at once; their results or errors."""
    barrier = threading.Barrier(len(contenders))
    results: list[object] = [None] * len(contenders)

    def run(i: int, contender: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = contender()
        except Exception as error:  # noqa: BLE001 - the test inspects what each got
            results[i] = error
        finally:
            connections.close_all()  # this thread's connection, not the test's

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.fixture
def slow_claims(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hold the winner inside its transaction, after the check, before the commit."""
    record = workflow._record

    def slow_record(*args: object, **kwargs: object) -> TicketEvent:
        time.sleep(0.3)
        return record(*args, **kwargs)

    monkeypatch.setattr(workflow, "_record", slow_record)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("slow_claims")
def test_two_claims_at_once_make_one_winner(world: World) -> None:
    ticket = queued_ticket(world.device_a)

    def claim_as(user):  # noqa: ANN001, ANN202
        return lambda: workflow.claim(Ticket.objects.get(pk=ticket.pk), user)

    results = race(claim_as(world.xavier), claim_as(world.xena))

    winners = [r for r in results if isinstance(r, Ticket)]
    losers = [r for r in results if isinstance(r, workflow.NotAllowed)]
    assert len(winners) == 1, results
    assert len(losers) == 1, results
    winner = winners[0].assigned_to
    assert str(losers[0]) == f"{winner.get_username()} has already claimed this ticket."
    ticket.refresh_from_db()
    assert ticket.assigned_to == winner
    assert ticket.events.filter(kind=TicketEvent.Kind.CLAIMED).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("slow_claims")
def test_two_claim_buttons_pressed_at_once_tell_the_loser_who_won(world: World) -> None:
    ticket = queued_ticket(world.device_a)
    url = reverse("tickets:work_claim", args=[ticket.reference])
    clients = {user.pk: client_for(user) for user in (world.xavier, world.xena)}

    def press(user_pk: int):  # noqa: ANN202
        return lambda: clients[user_pk].post(url, follow=True)

    responses = race(press(world.xavier.pk), press(world.xena.pk))

    assert all(r.status_code == 200 for r in responses), responses
    ticket.refresh_from_db()
    winner = ticket.assigned_to
    assert winner in (world.xavier, world.xena)
    told = [r for r in responses if b"has already claimed this ticket" in r.content]
    assert len(told) == 1
    assert f"{winner.get_username()} has already claimed this ticket".encode() in told[0].content
    assert ticket.events.filter(kind=TicketEvent.Kind.CLAIMED).count() == 1
