"""`/work/tickets/<ref>/` written cheaply: the labels, select options, timeline facts and
forms that the page now builds in Python say what they said when built the slow way."""

from __future__ import annotations

from decimal import Decimal

from django.urls import reverse
from django.utils import timezone, translation

from conftest import World
from tests.factories import queued_ticket
from tickets import workflow
from tickets.forms_work import AssignForm, TransferForm
from tickets.models import Queue, Ticket, TicketEvent

HOSTILE = "<script>alert(1)</script>"


def page_url(ticket: Ticket) -> str:
    return reverse("tickets:work_ticket", args=[ticket.reference])


def test_assign_options_are_labelled_as_label_from_instance(world: World) -> None:
    world.xena.first_name, world.xena.last_name = "Xena", "Li"
    world.xena.save()
    field = AssignForm(provider=world.provider_x).fields["assignee"]
    options = [(str(value), label) for value, label in field.choices]
    assert options[0] == ("", field.empty_label)
    assert options[1:] == [
        (str(user.pk), field.label_from_instance(user)) for user in field.queryset
    ]
    assert (str(world.xena.pk), "Xena Li") in options
    assert (str(world.xavier.pk), "xavier") in options  # no name: the username


def test_transfer_options_are_labelled_as_label_from_instance(world: World) -> None:
    ticket = queued_ticket(world.device_a)
    field = TransferForm(ticket=ticket).fields["queue"]
    options = [(str(value), label) for value, label in field.choices][1:]
    assert options == [(str(q.pk), field.label_from_instance(q)) for q in field.queryset]
    platform = Queue.objects.get(provider=None)
    assert (str(platform.pk), f"Platform · {platform.name}") in options
    with translation.override("zh-hans"):
        translated = {str(value): label for value, label in field.choices}
        assert translated[str(platform.pk)] == field.label_from_instance(platform)


def test_a_bad_choice_is_refused_and_shown_next_to_the_select(
    world: World,
    as_user,  # noqa: ANN001
) -> None:
    ticket = queued_ticket(world.device_a)
    response = as_user(world.xavier).post(
        reverse("tickets:work_assign", args=[ticket.reference]),
        {"assign-assignee": str(world.yuri.pk)},
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert 'id="id_assign-assignee"' in text
    assert 'class="select form-select is-invalid"' in text
    assert '<div id="id_assign-assignee_error" class="invalid-feedback">' in text
    assert f'value="{world.yuri.pk}"' not in text
    ticket.refresh_from_db()
    assert ticket.assigned_to is None


def test_the_timeline_names_what_each_event_recorded(world: World, as_user) -> None:  # noqa: ANN001
    ticket = queued_ticket(world.device_a, billable=True)
    workflow.claim(ticket, world.xavier)
    workflow.assign(ticket, world.xavier, world.xena)
    workflow.send_quote(ticket, world.xavier, Decimal("90.50"), "Printer head")
    workflow.issue_loaner(ticket, world.xavier, "LOAN-7")

    text = as_user(world.xavier).get(page_url(ticket)).content.decode()

    assert '<div class="fw-semibold">Assigned · xena</div>' in text
    assert '<div class="fw-semibold">Quote sent · ¥90.50</div>' in text
    assert '<div class="fw-semibold">Loaner issued · LOAN-7</div>' in text
    assert '<div class="fw-semibold">Claimed</div>' in text


def test_the_timeline_names_the_resolution_and_the_new_queue(world: World, as_user) -> None:  # noqa: ANN001
    ticket = queued_ticket(world.device_a)
    workflow.claim(ticket, world.xavier)
    workflow.resolve(ticket, world.xavier, Ticket.Resolution.REMOTE_FIX, "Reset the router")
    other = queued_ticket(world.device_a)
    target = Queue.objects.get(provider=world.provider_x, kind=Queue.Kind.PAID_REPAIR)
    target.name = HOSTILE
    target.save()
    workflow.transfer(other, world.xavier, target, "Paid work")

    text = as_user(world.xavier).get(page_url(ticket)).content.decode()
    assert '<div class="fw-semibold">Resolved · Remote fix</div>' in text
    with translation.override("zh-hans"):
        expected = f"{TicketEvent.Kind.RESOLVED.label} · {Ticket.Resolution.REMOTE_FIX.label}"
    chinese = as_user(world.xavier).get(page_url(ticket), headers={"accept-language": "zh-hans"})
    assert f'<div class="fw-semibold">{expected}</div>' in chinese.content.decode()

    moved = as_user(world.xavier).get(page_url(other)).content.decode()
    assert "Transferred · &lt;script&gt;alert(1)&lt;/script&gt;" in moved
    assert HOSTILE not in moved


def test_an_event_with_odd_data_still_shows(world: World, as_user) -> None:  # noqa: ANN001
    ticket = queued_ticket(world.device_a)
    TicketEvent.objects.create(ticket=ticket, kind="retired_kind", public=True, data={"rating": 0})
    TicketEvent.objects.create(
        ticket=ticket,
        kind=TicketEvent.Kind.ASSIGNED,
        public=True,
        data={"assignee_name": HOSTILE, "amount": "", "serial": None},
    )
    text = as_user(world.xavier).get(page_url(ticket)).content.decode()
    assert '<div class="fw-semibold">retired_kind</div>' in text
    assert '<div class="fw-semibold">Assigned · &lt;script&gt;alert(1)&lt;/script&gt;</div>' in text


def test_the_repair_history_shows_labels_not_codes(world: World, as_user) -> None:  # noqa: ANN001
    earlier = queued_ticket(world.device_a, status=Ticket.Status.CLOSED)
    earlier.resolution_code = Ticket.Resolution.REPLACED
    earlier.save()
    ticket = queued_ticket(world.device_a)

    text = as_user(world.xavier).get(page_url(ticket)).content.decode()

    line = text[text.index(f">{earlier.reference}</a>") :].split("</li>")[0]
    day = timezone.localtime(earlier.created_at).date()
    assert line == (
        f">{earlier.reference}</a> · {day:%Y-%m-%d} · {earlier.get_category_display()} · "
        f"{earlier.symptom_label} · Closed · Replaced"
    )


def test_dates_are_in_the_local_time_zone(world: World, as_user) -> None:  # noqa: ANN001
    ticket = queued_ticket(world.device_a)
    workflow.claim(ticket, world.xavier)
    event = ticket.events.get(kind=TicketEvent.Kind.CLAIMED)
    local = timezone.localtime(event.created_at)
    text = as_user(world.xavier).get(page_url(ticket)).content.decode()
    assert f'<time datetime="{local.isoformat()}">{local:%Y-%m-%d %H:%M}</time>' in text
