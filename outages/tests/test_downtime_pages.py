"""Downtime on the merchant's side (item 5): "since when?" at filing, both ticket pages,
"We can take payments again", and its end when the ticket is resolved."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from outages import services
from outages.models import Downtime
from tests.factories import queued_ticket
from tickets import workflow
from tickets.models import Ticket
from tickets.tests.filing_helpers import filing_data

pytestmark = pytest.mark.django_db
NEW = reverse("tickets:new")


def _local(moment) -> str:  # noqa: ANN001
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def test_downtime_starts_at_filing_when_the_shop_cannot_take_payments(world, as_user) -> None:
    before = timezone.now()
    as_user(world.alice).post(NEW, filing_data(world.device_a))
    downtime = Downtime.objects.get(ticket=Ticket.objects.get())
    assert downtime.is_open
    assert downtime.started_at >= before


def test_an_earlier_time_given_at_filing_starts_the_downtime(world, as_user) -> None:
    since = (timezone.now() - timedelta(hours=2)).replace(second=0, microsecond=0)
    response = as_user(world.alice).post(
        NEW, filing_data(world.device_a, payments_down_since=_local(since))
    )
    assert response.status_code == 302
    assert Downtime.objects.get().started_at == since


def test_since_is_ignored_when_the_shop_can_take_payments(world, as_user) -> None:
    data = filing_data(world.device_a, can_take_payments="yes", payments_down_since="soon")
    response = as_user(world.alice).post(NEW, data)
    assert response.status_code == 302
    assert not Downtime.objects.exists()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("tomorrow at ten", "Enter a valid date/time."),
        ("future", "The time cannot be in the future."),
        ("long_ago", "Give a time within the last 48 hours"),
    ],
)
def test_a_bad_since_is_shown_next_to_the_field_and_nothing_typed_is_lost(
    world, as_user, value: str, message: str
) -> None:
    value = {
        "future": _local(timezone.now() + timedelta(hours=1)),
        "long_ago": _local(timezone.now() - timedelta(days=5)),
    }.get(value, value)
    data = filing_data(world.device_a, payments_down_since=value, description="Host error 96")
    response = as_user(world.alice).post(NEW, data)
    assert response.status_code == 200
    assert not Ticket.objects.exists()
    errors = response.context["form"].errors
    assert list(errors) == ["payments_down_since"]
    assert message in errors["payments_down_since"][0]
    page = response.text
    assert "payments-down-since has-error" in page
    assert "Host error 96" in page
    assert f'value="{value}"' in page


def test_both_ticket_pages_show_an_open_downtime(world, as_user) -> None:
    ticket = queued_ticket(world.device_a, can_take_payments=Ticket.Payments.NO)
    services.start_downtime(ticket, timezone.now() - timedelta(hours=3))
    merchant_page = as_user(world.alice).get(ticket.get_absolute_url()).text
    assert 'id="downtime"' in merchant_page
    assert "Still down" in merchant_page
    assert "3 h 00 min" in merchant_page or "3 h 01 min" in merchant_page
    assert reverse("outages:payments_back", args=[ticket.reference]) in merchant_page
    assert reverse("outages:offline_sales", args=[ticket.reference]) in merchant_page
    work_page = (
        as_user(world.xavier).get(reverse("tickets:work_ticket", args=[ticket.reference])).text
    )
    assert 'id="downtime"' in work_page
    assert "Still down" in work_page
    assert reverse("outages:payments_back", args=[ticket.reference]) not in work_page
    assert reverse("outages:work_offline_sales", args=[ticket.reference]) in work_page


def test_no_downtime_block_when_the_shop_can_take_payments(world, as_user) -> None:
    ticket = queued_ticket(world.device_a, can_take_payments=Ticket.Payments.YES)
    assert 'id="downtime"' not in as_user(world.alice).get(ticket.get_absolute_url()).text


def test_we_can_take_payments_again_ends_the_downtime(world, as_user) -> None:
    ticket = queued_ticket(world.device_a, can_take_payments=Ticket.Payments.NO)
    services.start_downtime(ticket)
    client = as_user(world.alice)
    response = client.post(reverse("outages:payments_back", args=[ticket.reference]))
    assert response.status_code == 302
    downtime = Downtime.objects.get()
    assert not downtime.is_open
    assert downtime.ended_how == Downtime.End.MERCHANT
    page = client.get(ticket.get_absolute_url()).text
    assert "Still down" not in page
    assert "Taking payments again" in page
    assert reverse("outages:payments_back", args=[ticket.reference]) not in page
    # Tapped again (a second tab): a message, not an error page.
    again = client.post(reverse("outages:payments_back", args=[ticket.reference]), follow=True)
    assert again.status_code == 200
    assert "does not say the shop cannot take payments" in again.text


def test_another_shop_cannot_say_payments_are_back(world, as_user) -> None:
    ticket = queued_ticket(world.device_a, can_take_payments=Ticket.Payments.NO)
    services.start_downtime(ticket)
    response = as_user(world.bob).post(reverse("outages:payments_back", args=[ticket.reference]))
    assert response.status_code == 404
    assert Downtime.objects.get().is_open


def test_resolving_ends_the_downtime_and_reminds_the_shop_to_reconcile(world, as_user) -> None:
    ticket = queued_ticket(world.device_a, can_take_payments=Ticket.Payments.NO)
    services.start_downtime(ticket)
    workflow.claim(ticket, world.xavier)
    workflow.resolve(ticket, world.xavier, Ticket.Resolution.REMOTE_FIX, "Host back")
    downtime = Downtime.objects.get()
    assert downtime.ended_how == Downtime.End.RESOLVED
    page = as_user(world.alice).get(ticket.get_absolute_url()).text
    assert 'id="reconcile-reminder"' in page


def test_the_resolution_e_mail_reminds_the_shop_to_reconcile(world) -> None:
    from mail.models import OutboundEmail

    ticket = queued_ticket(world.device_a, can_take_payments=Ticket.Payments.NO)
    services.start_downtime(ticket)
    workflow.claim(ticket, world.xavier)
    workflow.resolve(ticket, world.xavier, Ticket.Resolution.REMOTE_FIX, "Host back")
    email = OutboundEmail.objects.filter(user=world.alice, kind="merchant_update").latest("pk")
    assert "reconcile them on the terminal" in email.text
    assert "reconcile them on the terminal" in email.html


def test_no_reconcile_reminder_when_payments_worked(world) -> None:
    from mail.models import OutboundEmail

    ticket = queued_ticket(world.device_a, can_take_payments=Ticket.Payments.YES)
    workflow.claim(ticket, world.xavier)
    workflow.resolve(ticket, world.xavier, Ticket.Resolution.REMOTE_FIX, "Fixed")
    email = OutboundEmail.objects.filter(user=world.alice, kind="merchant_update").latest("pk")
    assert "reconcile" not in email.text
