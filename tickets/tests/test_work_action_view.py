"""The one action view, for every row of `forms_work.WORK_ACTIONS`: done, refused with a
message, a form error shown in place, 404 outside the technician's scope, 405 to GET."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from conftest import World
from devices.warranty import WarrantyCheck, WarrantyStatus
from tests.factories import queued_ticket
from tickets.forms_work import WORK_ACTIONS
from tickets.models import Queue, Ticket, TicketEvent

S = Ticket.Status
K = TicketEvent.Kind


@dataclass
class Case:
    """How to take one action through the view: a ticket it applies to, data that goes
    through, data its form refuses, and the event it writes."""

    event: str
    data: Callable[[World, Ticket], dict[str, object]] = lambda w, t: {}
    bad: dict[str, object] | None = None  # None: a button alone, nothing to get wrong
    ticket: dict[str, object] = field(default_factory=dict)


def _claimed_warranty(world: World) -> dict[str, object]:
    world.device_a.warranty_check = WarrantyCheck.CLAIMED
    world.device_a.save()
    return {"warranty_check": WarrantyCheck.CLAIMED, "warranty_status": WarrantyStatus.IN}


CASES: dict[str, Case] = {
    "claim": Case(K.CLAIMED),
    "loaner_return": Case(
        K.LOANER_RETURNED,
        ticket={"loaner_serial": "LN-1", "loaner_issued_at": "now"},
    ),
    "warranty_verify": Case(
        K.WARRANTY_VERIFIED,
        data=lambda w, t: {
            "wverify-warranty_end": (timezone.localdate() + timedelta(days=300)).isoformat(),
            "wverify-source": "proof",
            "wverify-note": "Invoice checked",
        },
        bad={"wverify-warranty_end": "not a date", "wverify-source": "proof"},
        ticket={"warranty": "claimed"},
    ),
    "warranty_reject": Case(
        K.WARRANTY_REJECTED,
        data=lambda w, t: {"wreject-reason": "Receipt of another terminal"},
        bad={"wreject-reason": ""},
        ticket={"warranty": "claimed"},
    ),
    "reply": Case(K.REPLY, data=lambda w, t: {"reply-body": "Restart it"}, bad={"reply-body": ""}),
    "note": Case(K.NOTE, data=lambda w, t: {"note-body": "Known bug"}, bad={"note-body": " "}),
    "ask": Case(K.QUESTION, data=lambda w, t: {"ask-body": "Which code?"}, bad={"ask-body": ""}),
    "assign": Case(
        K.ASSIGNED,
        data=lambda w, t: {"assign-assignee": w.xena.pk},
        bad={"assign-assignee": "nobody"},
    ),
    "quote": Case(
        K.QUOTE_SENT,
        data=lambda w, t: {"quote-amount": "80", "quote-covers": "A new head"},
        bad={"quote-amount": "-1", "quote-covers": "A new head"},
        ticket={"billable": True},
    ),
    "loaner_issue": Case(
        K.LOANER_ISSUED, data=lambda w, t: {"loaner-serial": "LN-7"}, bad={"loaner-serial": ""}
    ),
    "transfer": Case(
        K.TRANSFERRED,
        data=lambda w, t: {
            "transfer-queue": Queue.objects.get(
                provider=w.provider_x, kind=Queue.Kind.REMOTE_SUPPORT
            ).pk,
            "transfer-reason": "Software after all",
        },
        bad={"transfer-queue": "", "transfer-reason": "Software after all"},
    ),
    "resolve": Case(
        K.RESOLVED,
        data=lambda w, t: {"resolve-code": "remote_fix", "resolve-note": "Keys reloaded"},
        bad={"resolve-code": "incident_over", "resolve-note": "Keys reloaded"},
    ),
    "resolve_duplicate": Case(
        K.DUPLICATE,
        data=lambda w, t: {
            "duplicate-original": queued_ticket(w.device_a, reporter=w.alice).reference.lower()
        },
        bad={"duplicate-original": "PD-999999"},
    ),
}


def test_every_action_of_the_table_is_tested_here() -> None:
    assert set(CASES) == set(WORK_ACTIONS)


def ticket_for(world: World, name: str, **changes: object) -> Ticket:
    fields = dict(CASES[name].ticket)
    if fields.pop("warranty", None):
        fields.update(_claimed_warranty(world))
    if fields.get("loaner_issued_at") == "now":
        fields["loaner_issued_at"] = timezone.now()
    return queued_ticket(world.device_a, reporter=world.alice, **{**fields, **changes})


def url(name: str, ticket: Ticket) -> str:
    return reverse(f"tickets:work_{name}", args=[ticket.reference])


def said(response) -> list[str]:  # noqa: ANN001
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.mark.parametrize("name", sorted(CASES))
def test_it_does_the_action_and_says_so(world: World, as_user, name: str) -> None:  # noqa: ANN001
    ticket = ticket_for(world, name)
    response = as_user(world.xavier).post(url(name, ticket), CASES[name].data(world, ticket))
    assert response.status_code == 302
    assert response.url == reverse("tickets:work_ticket", args=[ticket.reference])
    assert said(response) == [str(WORK_ACTIONS[name].done)]
    event = ticket.events.order_by("-id").first()
    assert (event.kind, event.actor) == (CASES[name].event, world.xavier)


@pytest.mark.parametrize("name", sorted(set(CASES) - {"note"}))
def test_a_refusal_is_a_message_and_changes_nothing(world: World, as_user, name: str) -> None:  # noqa: ANN001
    # Closed: every action but the note (allowed on any ticket) is refused by the workflow;
    # a loaner can come back from any ticket, but not when none is out.
    if name == "loaner_return":
        ticket = ticket_for(world, name, loaner_serial="", loaner_issued_at=None)
    else:
        ticket = ticket_for(world, name, status=S.CLOSED)
    before = ticket.status
    response = as_user(world.xavier).post(url(name, ticket), CASES[name].data(world, ticket))
    assert response.status_code == 302
    assert response.url == reverse("tickets:work_ticket", args=[ticket.reference])
    assert len(said(response)) == 1
    assert said(response) != [str(WORK_ACTIONS[name].done)]
    assert not ticket.events.exists()
    ticket.refresh_from_db()
    assert ticket.status == before


@pytest.mark.parametrize("name", sorted(n for n, case in CASES.items() if case.bad is not None))
def test_a_form_error_is_shown_in_place_with_what_was_typed(
    world: World,
    as_user,  # noqa: ANN001
    name: str,
) -> None:
    ticket = ticket_for(world, name)
    response = as_user(world.xavier).post(url(name, ticket), CASES[name].bad)
    assert response.status_code == 200
    form = response.context["forms"][name]
    assert form.errors
    text = response.content.decode()
    # The block that failed is unfolded, with the error next to the field.
    assert f'id="action-{name}" open>' in text
    assert "invalid-feedback" in text
    for value in CASES[name].bad.values():
        if " " in str(value).strip():  # what was typed (a bad choice is not offered back)
            assert str(value) in text
    assert not ticket.events.exists()


@pytest.mark.parametrize("who", ["yuri", "alice", "admin"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_outside_the_technicians_scope_it_is_404(
    world: World,
    as_user,  # noqa: ANN001
    name: str,
    who: str,
) -> None:
    ticket = ticket_for(world, name)
    data = CASES[name].data(world, ticket)
    response = as_user(getattr(world, who)).post(url(name, ticket), data)
    assert response.status_code == 404
    assert not ticket.events.exists()


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_get_is_405_and_does_nothing(world: World, as_user, name: str) -> None:  # noqa: ANN001
    ticket = ticket_for(world, name)
    assert as_user(world.xavier).get(url(name, ticket)).status_code == 405
    assert not ticket.events.exists()


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_ticket_page_offers_the_block_of_each_allowed_action(
    world: World,
    as_user,  # noqa: ANN001
    name: str,
) -> None:
    ticket = ticket_for(world, name)
    text = as_user(world.xavier).get(reverse("tickets:work_ticket", args=[ticket.reference]))
    text = text.content.decode()
    assert f'action="{url(name, ticket)}"' in text
    assert WORK_ACTIONS[name].button_text(ticket) in text


def test_the_page_writes_no_details_block_by_hand() -> None:
    from pathlib import Path

    from django.conf import settings

    page = Path(settings.BASE_DIR, "templates/tickets/work/ticket.html").read_text()
    assert page.count("<details") == 1  # the one in the loop over the table
