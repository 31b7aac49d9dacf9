"""Transfers go where they make sense (issue 14, item 8): the technician's own provider's
queues, the terminal's provider's and acquirer's repair and payment queues, and the
platform triage. A bank's technician cannot push a ticket into an unrelated company's
paid-repair queue, by the form or by a crafted POST."""

from __future__ import annotations

import pytest
from django.urls import reverse

from conftest import World
from tests.factories import ProviderFactory, queued_ticket
from tickets import workflow
from tickets.forms_work import TransferForm
from tickets.models import Queue, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(world: World) -> Ticket:
    # Serviced by X, acquired by Y; Z has nothing to do with it.
    world.device_a.acquirer = world.provider_y
    world.device_a.save()
    return queued_ticket(world.device_a, reporter=world.alice)


def offered(ticket: Ticket) -> set[tuple[str | None, str]]:
    queues = TransferForm(ticket=ticket).fields["queue"].queryset
    return {(q.provider.name if q.provider else None, q.kind) for q in queues}


def test_the_form_offers_own_queues_the_terminals_desks_and_the_platform_triage(
    world: World, ticket: Ticket
) -> None:
    ProviderFactory(name="Unrelated Z", kind="bank")
    K = Queue.Kind
    assert offered(ticket) == {
        ("Provider X", K.PAID_REPAIR),
        ("Provider X", K.REMOTE_SUPPORT),
        ("Provider X", K.TRIAGE),
        ("Provider X", K.TRANSACTION_SUPPORT),
        ("Provider Y", K.TRANSACTION_SUPPORT),
        ("Provider Y", K.WARRANTY_REPAIR),
        ("Provider Y", K.PAID_REPAIR),
        (None, K.TRIAGE),
    }


def test_a_crafted_post_to_an_unrelated_providers_queue_is_refused(
    world: World,
    as_user,  # noqa: ANN001
    ticket: Ticket,
) -> None:
    unrelated = ProviderFactory(name="Unrelated Z", kind="bank")
    target = Queue.objects.get(provider=unrelated, kind=Queue.Kind.PAID_REPAIR)
    response = as_user(world.xavier).post(
        reverse("tickets:work_transfer", args=[ticket.reference]),
        {"transfer-queue": target.pk, "transfer-reason": "Not ours"},
    )
    assert response.status_code == 200  # the form again, with the refusal next to the field
    assert response.context["forms"]["transfer"].errors["queue"]
    ticket.refresh_from_db()
    assert ticket.queue.provider == world.provider_x
    # The workflow says no too, whoever calls it.
    with pytest.raises(workflow.NotAllowed):
        workflow.transfer(ticket, world.xavier, target, "Not ours")
    remote_y = Queue.objects.get(provider=world.provider_y, kind=Queue.Kind.REMOTE_SUPPORT)
    with pytest.raises(workflow.NotAllowed):
        workflow.transfer(ticket, world.xavier, remote_y, "Their remote desk is theirs to fill")


def test_the_acquirers_payment_queue_takes_a_dispute(world: World, ticket: Ticket) -> None:
    target = Queue.objects.get(provider=world.provider_y, kind=Queue.Kind.TRANSACTION_SUPPORT)
    workflow.transfer(ticket, world.xavier, target, "A payment dispute")
    ticket.refresh_from_db()
    assert ticket.queue == target
