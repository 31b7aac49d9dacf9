"""Notification preferences (issue 18, part 2): each choice sends only what it promises.

Checked on the outbox rows the events write (mail.models.OutboundEmail), which is what
gets sent: a row not written is an e-mail never rendered nor sent."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from mail.models import OutboundEmail
from portal.models import User
from tests.factories import TicketFactory, UserFactory, member_of, queued_ticket
from tickets import notifications, routing, workflow
from tickets.models import Queue, Ticket

pytestmark = pytest.mark.django_db

Arrivals = User.Arrivals
ShopUpdates = User.ShopUpdates


def _mailed(*, kind: str | None = None) -> list[str]:
    rows = OutboundEmail.objects.all()
    if kind:
        rows = rows.filter(kind=kind)
    return sorted(rows.values_list("recipient", flat=True))


def _prefer(user: User, **choices: object) -> User:
    for name, value in choices.items():
        setattr(user, name, value)
    user.save()
    return user


def _route(world, *, can_take_payments: str) -> Ticket:  # noqa: ANN001
    ticket = TicketFactory(
        device=world.device_a, reporter=world.alice, can_take_payments=can_take_payments
    )
    routing.route(ticket.pk)
    ticket.refresh_from_db()
    return ticket


def test_a_new_person_gets_the_busy_desk_defaults(db) -> None:  # noqa: ANN001
    user = User.objects.create_user("new-person", "new@example.com", "x")
    assert user.notify_arrivals == Arrivals.P1
    assert user.notify_shop_updates == ShopUpdates.KEY
    assert user.digest_minutes == 30


@pytest.mark.parametrize(
    ("choice", "p1_mailed", "p3_mailed"),
    [
        (Arrivals.EVERY, True, True),
        (Arrivals.P1, True, False),
        (Arrivals.MINE, False, False),
        (Arrivals.DIGEST, False, False),
    ],
)
def test_each_arrivals_choice_mails_only_what_it_promises(
    world,  # noqa: ANN001
    choice: str,
    p1_mailed: bool,
    p3_mailed: bool,
) -> None:
    _prefer(world.xavier, notify_arrivals=choice)
    _prefer(world.xena, notify_arrivals=Arrivals.EVERY)
    p1 = _route(world, can_take_payments=Ticket.Payments.NO)
    assert p1.priority == 1
    arrived = _mailed(kind="ticket_arrived")
    assert (world.xavier.email in arrived) is p1_mailed
    assert world.xena.email in arrived
    OutboundEmail.objects.all().delete()
    p3 = _route(world, can_take_payments=Ticket.Payments.YES)
    assert p3.priority == 3
    arrived = _mailed(kind="ticket_arrived")
    assert (world.xavier.email in arrived) is p3_mailed
    assert world.xena.email in arrived


def test_only_mine_hears_of_a_ticket_when_it_is_assigned_to_them(world) -> None:  # noqa: ANN001
    _prefer(world.xavier, notify_arrivals=Arrivals.MINE)
    _prefer(world.xena, notify_arrivals=Arrivals.P1)
    ticket = _route(world, can_take_payments=Ticket.Payments.YES)
    assert _mailed(kind="ticket_arrived") == []
    workflow.assign(ticket, world.xena, world.xavier)
    assert _mailed(kind="ticket_arrived") == [world.xavier.email]
    # Given to someone else, it is not theirs: nothing more.
    OutboundEmail.objects.all().delete()
    other = queued_ticket(world.device_a, can_take_payments=Ticket.Payments.YES)
    workflow.assign(other, world.xavier, world.xena)
    assert _mailed(kind="ticket_arrived") == []


def test_a_transfer_is_an_arrival_too(world) -> None:  # noqa: ANN001
    world.device_a.acquirer = world.provider_y
    world.device_a.save()
    _prefer(world.yuri, notify_arrivals=Arrivals.P1)
    target = Queue.objects.get(provider=world.provider_y, kind=Queue.Kind.TRANSACTION_SUPPORT)
    calm = queued_ticket(world.device_a, priority=3)
    workflow.transfer(calm, world.xavier, target, "Theirs")
    assert world.yuri.email not in _mailed(kind="ticket_arrived")
    urgent = queued_ticket(world.device_a, priority=1, symptom="printer")
    workflow.transfer(urgent, world.xavier, target, "Theirs, urgent")
    assert _mailed(kind="ticket_arrived").count(world.yuri.email) == 1


def test_a_shop_on_key_updates_hears_of_questions_quotes_and_the_resolution_only(
    world,  # noqa: ANN001
) -> None:
    colleague = member_of(
        UserFactory(username="alice-colleague", notify_shop_updates=ShopUpdates.EVERY),
        merchant=world.merchant_a,
    )
    _prefer(world.alice, notify_shop_updates=ShopUpdates.KEY)
    ticket = _route(world, can_take_payments=Ticket.Payments.YES)
    # Routed: an update, not a question.
    assert _mailed(kind="merchant_update") == [colleague.email]
    ticket = queued_ticket(world.device_a, kind="paid_repair", billable=True)
    steps = [
        (lambda t: workflow.claim(t, world.xavier), False),
        (lambda t: workflow.reply(t, world.xavier, "Looking at it"), False),
        (lambda t: workflow.note(t, world.xavier, "Internal"), None),
        (lambda t: workflow.ask(t, world.xavier, "Which model?"), True),
        (lambda t: workflow.merchant_reply(t, world.alice, "The A920"), None),
        (lambda t: workflow.send_quote(t, world.xavier, Decimal("120.00"), "A new screen"), True),
        (lambda t: workflow.accept_quote(t, world.alice), None),
        (lambda t: workflow.resolve(t, world.xavier, "replaced", "New screen fitted"), True),
    ]
    for step, alice_hears in steps:
        OutboundEmail.objects.all().delete()
        step(Ticket.objects.get(pk=ticket.pk))
        mailed = _mailed(kind="merchant_update")
        if alice_hears is None:  # internal, or her own: nobody at the shop is mailed
            assert world.alice.email not in mailed
            continue
        assert (world.alice.email in mailed) is alice_hears, step
        # The colleague on every update hears of each one that is public.
        assert colleague.email in mailed


def _digest_rows() -> list[OutboundEmail]:
    return list(OutboundEmail.objects.filter(kind="arrivals_digest").order_by("pk"))


def test_a_digest_lists_what_arrived_since_the_last_one_every_n_minutes(world) -> None:  # noqa: ANN001
    _prefer(world.xavier, notify_arrivals=Arrivals.DIGEST, digest_minutes=15)
    _prefer(world.xena, notify_arrivals=Arrivals.P1)
    first = _route(world, can_take_payments=Ticket.Payments.YES)
    second = _route(world, can_take_payments=Ticket.Payments.NO)
    world.device_b.provider = world.provider_y  # another provider's arrival: not listed
    world.device_b.save()
    theirs = TicketFactory(device=world.device_b, reporter=world.bob)
    routing.route(theirs.pk)
    theirs.refresh_from_db()
    assert world.xavier.email not in _mailed(kind="ticket_arrived")

    # Windows end DIGEST_SETTLE before the beat's time.
    now = timezone.now() + notifications.DIGEST_SETTLE + timedelta(seconds=1)
    assert notifications.send_digests(now) == 1
    [digest] = _digest_rows()
    assert digest.recipient == world.xavier.email
    assert first.reference in digest.text
    assert second.reference in digest.text
    assert theirs.reference not in digest.text
    assert "2 tickets arrived" in digest.subject
    assert first.reference in digest.html
    # Only the digest reader gets one, and only once per window.
    assert notifications.send_digests(now + timedelta(minutes=5)) == 0
    third = _route(world, can_take_payments=Ticket.Payments.YES)
    # It arrived after the first window's end (the test runs faster than a beat).
    third.events.update(created_at=now + timedelta(minutes=1))
    assert notifications.send_digests(now + timedelta(minutes=10)) == 0
    assert notifications.send_digests(now + timedelta(minutes=15)) == 1
    latest = _digest_rows()[-1]
    assert third.reference in latest.text
    assert first.reference not in latest.text
    # Nothing arrived: no empty digest.
    assert notifications.send_digests(now + timedelta(minutes=31)) == 0
    assert len(_digest_rows()) == 2
