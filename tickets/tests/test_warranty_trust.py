"""Who pays is not up to the person who benefits (issue 10): the merchant claims a
warranty, the provider verifies or rejects it, and every change leaves a trace."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from conftest import World
from devices import services as device_services
from devices.models import Device
from devices.tests.helpers import days_ago, device_post, pdf
from devices.warranty import WarrantyCheck, WarrantySource, WarrantyStatus
from tests.factories import queued_ticket
from tickets import routing, services, workflow
from tickets.models import Queue, Quote, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def _out_of_warranty_verified(device: Device) -> None:
    device.purchase_date = timezone.localdate() - timedelta(days=800)
    device.warranty_end = timezone.localdate() - timedelta(days=30)
    device.save()


def _edit(world: World, as_user, **fields: object):  # noqa: ANN001, ANN202
    data = device_post(world, serial_number=world.device_a.serial_number, **fields)
    return as_user(world.alice).post(reverse("devices:edit", args=[world.device_a.pk]), data)


def _file(world: World, category: str = "hardware") -> Ticket:
    world.device_a.refresh_from_db()
    ticket, _created = services.file_ticket(
        merchant=world.merchant_a,
        device=world.device_a,
        reporter=world.alice,
        category=category,
        symptom="screen",
        can_take_payments="no",
        description="Dark screen.",
        callback_phone="13800138000",
    )
    routing.route(ticket.pk)
    ticket.refresh_from_db()
    return ticket


# The merchant cannot buy a free repair ---------------------------------------------------


def test_a_crafted_warranty_end_changes_nothing_and_the_next_ticket_is_billable(
    world: World,
    as_user,  # noqa: ANN001
) -> None:
    _out_of_warranty_verified(world.device_a)
    end = world.device_a.warranty_end
    response = _edit(world, as_user, purchase_date=days_ago(800), warranty_end="2029-12-31")
    assert response.status_code == 302
    world.device_a.refresh_from_db()
    assert world.device_a.warranty_end == end
    ticket = _file(world)
    assert ticket.queue.kind == Queue.Kind.PAID_REPAIR
    assert ticket.billable is True


def test_clearing_a_void_in_a_crafted_post_changes_nothing(world: World, as_user) -> None:  # noqa: ANN001
    device_services.set_warranty(
        world.device_a,
        user=world.xavier,
        warranty_end=world.device_a.warranty_end,
        void=True,
        void_reason="Liquid damage: tea in the keypad",
    )
    _edit(world, as_user, warranty_void="", warranty_void_reason="")
    world.device_a.refresh_from_db()
    assert world.device_a.warranty_void is True
    ticket = _file(world)
    assert ticket.queue.kind == Queue.Kind.PAID_REPAIR
    assert ticket.billable is True
    page = as_user(world.alice).get(ticket.get_absolute_url()).text
    today = timezone.localdate().isoformat()
    assert f"Warranty void since {today}: Liquid damage: tea in the keypad" in page


def test_a_new_purchase_date_is_a_claim_and_free_work_waits_for_verification(
    world: World,
    as_user,  # noqa: ANN001
) -> None:
    _out_of_warranty_verified(world.device_a)
    _edit(world, as_user, purchase_date=days_ago(100))
    world.device_a.refresh_from_db()
    assert world.device_a.warranty_status() == WarrantyStatus.IN
    assert world.device_a.warranty_check == WarrantyCheck.CLAIMED

    ticket = _file(world)
    # Routed like a verified warranty, but nobody has said it is free.
    assert ticket.queue.kind == Queue.Kind.WARRANTY_REPAIR
    assert ticket.warranty_check == WarrantyCheck.CLAIMED
    assert ticket.billable is None
    assert ticket.warranty_edited_at is not None
    with pytest.raises(workflow.NotAllowed, match="verify it"):
        workflow.resolve(ticket, world.xavier, Ticket.Resolution.ON_SITE, "New screen")

    page = as_user(world.xavier).get(reverse("tickets:work_ticket", args=[ticket.reference]))
    assert 'id="warranty-edited"' in page.text
    assert 'id="to-verify"' in page.text
    assert 'id="warranty-claim"' in page.text

    workflow.verify_warranty(ticket, world.xavier, None, WarrantySource.PROOF)
    ticket.refresh_from_db()
    assert ticket.billable is False
    assert ticket.warranty_check == WarrantyCheck.VERIFIED
    workflow.resolve(ticket, world.xavier, Ticket.Resolution.ON_SITE, "New screen")
    assert ticket.events.filter(kind=TicketEvent.Kind.WARRANTY_VERIFIED, public=True).exists()


def test_a_verified_end_before_filing_makes_the_ticket_billable(world: World, as_user) -> None:  # noqa: ANN001
    _out_of_warranty_verified(world.device_a)
    _edit(world, as_user, purchase_date=days_ago(100))
    ticket = _file(world)
    past = timezone.localdate() - timedelta(days=30)
    workflow.verify_warranty(ticket, world.xavier, past, WarrantySource.PROOF)
    ticket.refresh_from_db()
    assert ticket.billable is True
    assert ticket.warranty_status == WarrantyStatus.OUT


def test_a_rejection_makes_the_ticket_billable_and_gates_repair_on_a_quote(
    world: World,
    as_user,  # noqa: ANN001
) -> None:
    world.device_a.warranty_check = WarrantyCheck.CLAIMED
    world.device_a.save()
    ticket = _file(world)
    response = as_user(world.xavier).post(
        reverse("tickets:work_warranty_reject", args=[ticket.reference]),
        {"wreject-reason": "The receipt is dated 2023-04-02."},
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.billable is True
    assert ticket.warranty_check == WarrantyCheck.REJECTED
    with pytest.raises(workflow.NotAllowed, match="accept a quote"):
        workflow.resolve(ticket, world.xavier, Ticket.Resolution.ON_SITE, "Fixed")
    # The merchant reads why, in plain words.
    page = as_user(world.alice).get(ticket.get_absolute_url()).text
    assert "The receipt is dated 2023-04-02." in page
    assert "nothing is repaired until you accept it" in page
    # A quote accepted: the repair may go ahead.
    workflow.send_quote(ticket, world.xavier, Decimal("150"), "New screen")
    workflow.accept_quote(ticket, world.alice)
    workflow.resolve(ticket, world.xavier, Ticket.Resolution.ON_SITE, "Fixed")
    world.device_a.refresh_from_db()
    assert world.device_a.warranty_check == WarrantyCheck.REJECTED
    assert world.device_a.warranty_status() == WarrantyStatus.OUT


def test_only_the_terminals_provider_may_verify(world: World) -> None:
    world.device_a.warranty_check = WarrantyCheck.CLAIMED
    world.device_a.save()
    # In provider Y's queue (a transfer), the claim is X's to check, not Y's.
    ticket = queued_ticket(world.device_a, provider=world.provider_y)
    assert "warranty_verify" not in workflow.allowed_actions(ticket, workflow.TECHNICIAN)
    with pytest.raises(workflow.NotAllowed):
        workflow.verify_warranty(ticket, world.yuri, None, WarrantySource.PROOF)


# A missing proof, sent from the ticket ---------------------------------------------------


def test_a_merchant_sends_the_missing_proof_on_the_ticket_page(world: World, as_user) -> None:  # noqa: ANN001
    world.device_a.purchase_date = None
    world.device_a.warranty_end = None
    world.device_a.save()
    ticket = _file(world)
    assert ticket.warranty_status == WarrantyStatus.UNKNOWN
    page = as_user(world.alice).get(ticket.get_absolute_url()).text
    assert 'id="proof-needed"' in page
    response = as_user(world.alice).post(
        reverse("tickets:add_proof", args=[ticket.reference]),
        {"proof": pdf(), "purchase_date": days_ago(60)},
    )
    assert response.status_code == 302
    world.device_a.refresh_from_db()
    assert world.device_a.proof_of_purchase
    assert world.device_a.warranty_check == WarrantyCheck.CLAIMED
    assert world.device_a.warranty_status() == WarrantyStatus.IN
    event = ticket.events.get(kind=TicketEvent.Kind.PROOF_ADDED)
    assert event.actor == world.alice
    assert event.public
    # The technician downloads it through the ticket, scope-checked.
    proof = as_user(world.xavier).get(reverse("tickets:work_proof", args=[ticket.reference]))
    assert proof.status_code == 200
    assert proof["Content-Disposition"].startswith("attachment")


def test_a_proof_that_is_not_a_receipt_is_refused_at_the_field(world: World, as_user) -> None:  # noqa: ANN001
    from django.core.files.uploadedfile import SimpleUploadedFile

    world.device_a.warranty_check = WarrantyCheck.CLAIMED
    world.device_a.save()
    ticket = _file(world)
    response = as_user(world.alice).post(
        reverse("tickets:add_proof", args=[ticket.reference]),
        {"proof": SimpleUploadedFile("x.pdf", b"MZ\x90\x00 not a pdf"), "purchase_date": ""},
    )
    assert response.status_code == 400
    assert "PDF or an image" in response.text
    world.device_a.refresh_from_db()
    assert not world.device_a.proof_of_purchase


# History ---------------------------------------------------------------------------------


def test_every_warranty_change_is_in_the_history_with_who_and_old_and_new(
    world: World,
    as_user,  # noqa: ANN001
) -> None:
    old_date = world.device_a.purchase_date
    _edit(world, as_user, purchase_date=days_ago(50))
    device_services.set_warranty(
        world.device_a, user=world.xavier, warranty_end=None, void=True, void_reason="Dropped"
    )
    records = list(world.device_a.history.order_by("history_date", "history_id"))
    merchant_edit, technician_edit = records[-2], records[-1]
    assert merchant_edit.history_user == world.alice
    assert technician_edit.history_user == world.xavier
    diff = merchant_edit.diff_against(merchant_edit.prev_record)
    changes = {change.field: (change.old, change.new) for change in diff.changes}
    assert changes["purchase_date"][0] == old_date
    assert str(changes["purchase_date"][1]) == days_ago(50)

    page = as_user(world.xavier).get(reverse("terminals:detail", args=[world.device_a.pk])).text
    assert "alice" in page
    assert "xavier" in page
    assert days_ago(50) in page
    assert "Dropped" in page


def test_a_ticket_filed_long_after_the_merchants_change_has_no_flag(
    world: World,
    as_user,  # noqa: ANN001
) -> None:
    _edit(world, as_user, purchase_date=days_ago(50))
    Device.objects.filter(pk=world.device_a.pk).update(
        merchant_changed_warranty_at=timezone.now() - timedelta(days=31)
    )
    ticket = _file(world)
    assert ticket.warranty_edited_at is None


def test_admin_changes_to_providers_queues_and_rules_are_kept(world: World, as_user) -> None:  # noqa: ANN001
    queue = Queue.objects.get(provider=world.provider_x, kind=Queue.Kind.WARRANTY_REPAIR)
    client = as_user(world.admin)
    url = reverse("admin:tickets_queue_change", args=[queue.pk])
    form = client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update(provider=world.provider_x.pk, first_response_p1=15)
    response = client.post(url, data)
    assert response.status_code == 302, response.context and response.context["adminform"].errors
    latest = queue.history.latest()
    assert latest.history_user == world.admin
    assert latest.first_response_p1 == 15
    assert latest.prev_record.first_response_p1 != 15
    history = client.get(reverse("admin:tickets_queue_history", args=[queue.pk]))
    assert history.status_code == 200


# A transfer starts fresh on money and secrets --------------------------------------------


def test_after_a_transfer_the_new_provider_sees_none_of_the_old_notes(
    world: World,
    as_user,  # noqa: ANN001
) -> None:
    world.device_a.acquirer = world.provider_y  # a transfer may go to Y's desks
    world.device_a.save()
    ticket = queued_ticket(world.device_a, reporter=world.alice)
    workflow.note(ticket, world.xavier, "Merchant owes us for two repairs; be firm.")
    workflow.reply(ticket, world.xavier, "We are looking at it.")
    target = Queue.objects.get(provider=world.provider_y, kind=Queue.Kind.WARRANTY_REPAIR)
    workflow.transfer(ticket, world.xavier, target, "Their terminal now")
    workflow.note(ticket, world.yuri, "Taken over from X.")
    page = as_user(world.yuri).get(reverse("tickets:work_ticket", args=[ticket.reference])).text
    assert "be firm" not in page
    assert "We are looking at it." in page
    assert "Taken over from X." in page


def test_a_quote_accepted_under_the_old_provider_does_not_open_the_new_gate(
    world: World,
    as_user,  # noqa: ANN001
) -> None:
    world.device_a.acquirer = world.provider_y  # a transfer may go to Y's desks
    world.device_a.save()
    ticket = queued_ticket(world.device_a, kind=Queue.Kind.PAID_REPAIR, billable=True)
    workflow.send_quote(ticket, world.xavier, Decimal("99"), "Keypad")
    workflow.accept_quote(ticket, world.alice)
    paid_y = Queue.objects.get(provider=world.provider_y, kind=Queue.Kind.PAID_REPAIR)
    workflow.transfer(ticket, world.xavier, paid_y, "Y repairs this model")
    ticket.refresh_from_db()
    assert not workflow.quote_gate_open(ticket)
    with pytest.raises(workflow.NotAllowed, match="accept a quote"):
        workflow.resolve(ticket, world.yuri, Ticket.Resolution.REPAIR_CENTRE, "Fixed")
    page = as_user(world.yuri).get(reverse("tickets:work_ticket", args=[ticket.reference])).text
    # X's price is in the public timeline, but not on Y's quote card: Y has sent none.
    assert "No quote sent yet." in page
    quote = workflow.send_quote(ticket, world.yuri, Decimal("120"), "Keypad, Y's price")
    assert quote.provider == world.provider_y
    workflow.accept_quote(ticket, world.alice)
    workflow.resolve(ticket, world.yuri, Ticket.Resolution.REPAIR_CENTRE, "Fixed")
    assert Quote.objects.filter(ticket=ticket, status="accepted").count() == 2


# Labels tell the truth -------------------------------------------------------------------


def test_the_technician_reads_true_warranty_labels(world: World, as_user) -> None:  # noqa: ANN001
    ticket = queued_ticket(world.device_a)
    end = world.device_a.warranty_end.isoformat()
    page = as_user(world.xavier).get(reverse("tickets:work_ticket", args=[ticket.reference])).text
    assert f"In warranty until {end}" in page
    _out_of_warranty_verified(world.device_a)
    ticket = queued_ticket(world.device_a)
    page = as_user(world.xavier).get(reverse("tickets:work_ticket", args=[ticket.reference])).text
    assert f"Out of warranty since {world.device_a.warranty_end.isoformat()}" in page
    assert "Out of warranty until" not in page


def test_the_queue_row_flags_a_claim_and_a_recent_edit(world: World, as_user) -> None:  # noqa: ANN001
    _out_of_warranty_verified(world.device_a)
    _edit(world, as_user, purchase_date=days_ago(100))
    ticket = _file(world)
    page = as_user(world.xavier).get(reverse("tickets:queue", args=[ticket.queue_id])).text
    assert "warranty to verify" in page
    assert "warranty edited" in page
