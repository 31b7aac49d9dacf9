"""Work on tickets that spans several models or enqueues a task.

Filing saves the ticket (state `new`, no queue) and its `filed` event in one
transaction, then enqueues `route_ticket` once that commits. Nothing is lost
when the broker is down: the ticket exists from the moment it is saved, and
`sweep_unrouted` (beat) enqueues it again later.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from devices.warranty import WarrantyStatus
from portal import broker
from portal.storage import atomic_with_uploads
from tickets import events, hooks, workflow
from tickets.models import (
    Attachment,
    SelfHelpSuccess,
    Ticket,
    TicketEvent,
    priority_for,
)
from tickets.pci import contains_card_number
from tickets.uploads import CheckedFile

if TYPE_CHECKING:
    from devices.models import Device, Merchant
    from portal.models import User

logger = logging.getLogger(__name__)


class FilingRefused(Exception):
    """Filing input a form should have caught (a foreign device, a card number)."""


class AlreadyOpen(Exception):
    """The terminal already has an open ticket for this fault: add to that one instead."""

    def __init__(self, ticket: Ticket) -> None:
        super().__init__(ticket.reference)
        self.ticket = ticket


# Routing ----------------------------------------------------------------------------------


def enqueue_routing(ticket_id: int) -> bool:
    """Queue `route_ticket`. False when the broker cannot be reached: the sweeper will.

    Never raises for a broker outage, which is logged once (portal.broker), not at
    every filing: the ticket is saved either way. The broker's connect and socket
    timeouts (settings) keep a dead broker from holding up the merchant's request.
    """
    from tickets.tasks import route_ticket

    return broker.publish(route_ticket, ticket_id)


# How many tickets one sweep claims at a time (a transaction each).
SWEEP_BATCH = 500


def sweep_unrouted(*, now: datetime | None = None, after_outage: bool = False) -> dict[str, int]:
    """Queue routing again for tickets still `new` after ROUTING_GRACE_SECONDS.

    A ticket queued by a sweep is queued again only after ROUTING_REQUEUE_SECONDS
    (its message may have been lost), or by the sweep a worker makes when it
    (re)connects (`after_outage`): a message queued before an outage may be gone with
    the broker. Nothing is counted here: an attempt is a run of the task
    (tickets.routing.route), so sweeps queued while no worker runs flag nothing.
    Tickets flagged `routing_failed` are left to an admin.

    Each batch is claimed under row locks that skip locked rows, and stamped in the
    same transaction: two sweepers never queue the same ticket in one pass, and a
    ticket being routed at that moment is left alone.
    """
    now = now or timezone.now()
    window = settings.ROUTING_GRACE_SECONDS if after_outage else settings.ROUTING_REQUEUE_SECONDS
    due = (
        Ticket.objects.filter(
            status=Ticket.Status.NEW,
            routing_failed=False,
            created_at__lte=now - timedelta(seconds=settings.ROUTING_GRACE_SECONDS),
        )
        # Strictly before: the tickets this pass stamped with `now` are not claimed again.
        .filter(
            Q(route_requeued_at__isnull=True)
            | Q(route_requeued_at__lt=now - timedelta(seconds=window))
        )
        .order_by("created_at", "pk")
    )
    requeued = 0
    while True:
        with transaction.atomic():
            batch = list(
                due.select_for_update(skip_locked=True).values_list("pk", flat=True)[:SWEEP_BATCH]
            )
            Ticket.objects.filter(pk__in=batch).update(route_requeued_at=now)
        for n, ticket_id in enumerate(batch):
            if not enqueue_routing(ticket_id):
                # The broker is away: the rest were not queued, the next sweep tries.
                Ticket.objects.filter(pk__in=batch[n:], route_requeued_at=now).update(
                    route_requeued_at=None
                )
                return {"requeued": requeued}
            requeued += 1
        if len(batch) < SWEEP_BATCH:
            return {"requeued": requeued}


# Filing ----------------------------------------------------------------------------------


def file_ticket(
    *,
    merchant: Merchant,
    device: Device,
    reporter: User,
    category: str,
    symptom: str,
    can_take_payments: str,
    description: str,
    callback_phone: str,
    error_code: str = "",
    checks_tried: Sequence[str] = (),
    txn_time: datetime | None = None,
    txn_amount: Decimal | None = None,
    card_last4: str = "",
    txn_response_code: str = "",
    txn_reference: str = "",
    attachments: Iterable[CheckedFile] = (),
    submission_token: uuid.UUID | None = None,
    allow_open_twin: bool = False,
    payments_down_since: datetime | None = None,
) -> tuple[Ticket, bool]:
    """File a fault ticket. Returns (ticket, created).

    The same `submission_token` from the same merchant (a double click, a re-sent
    POST) returns the ticket filed the first time, with created=False. A terminal has
    one open ticket per fault (category and symptom): another report of it raises
    `AlreadyOpen` with that ticket, unless the shop saw it and files anyway
    (`allow_open_twin`: the same fault can come back on a repaired terminal's twin
    symptom, and only the shop knows).

    `payments_down_since`: when a shop that cannot take payments says it stopped
    before it filed (its downtime starts then; see tickets.hooks.ticket_filed).
    """
    if device.merchant_id != merchant.pk:
        raise FilingRefused("The terminal belongs to another merchant.")
    # Every text of the filing, also those a form checks: this is the last word before
    # the row is written, whoever calls it (a form, an import, an API).
    free_text = (
        description,
        callback_phone,
        error_code,
        symptom,
        card_last4,
        txn_response_code,
        txn_reference,
    )
    if any(contains_card_number(text) for text in free_text):
        raise FilingRefused("A full card number must never be stored.")
    token = submission_token or uuid.uuid4()
    # The same report sent again is found among the open tickets of its fault, the query
    # the one-open-ticket rule makes anyway; one whose ticket is closed by now is answered
    # by the unique (merchant, submission_token) constraint in the INSERT.
    try:
        # The attachments are written inside: a rolled-back filing (a full disk on the
        # third photo, a report sent twice) takes its files with it.
        with atomic_with_uploads():
            already = (
                _open_tickets_for(merchant, device, category, symptom)
                if settings.ONE_OPEN_TICKET_PER_FAULT
                else []
            )
            for ticket in already:
                if ticket.submission_token == token:
                    return ticket, False  # the same report again, still open
            if already and not allow_open_twin:
                raise AlreadyOpen(already[0])
            ticket = Ticket.objects.create(
                merchant=merchant,
                device=device,
                reporter=reporter,
                submission_token=token,
                category=category,
                symptom=symptom,
                error_code=error_code.strip(),
                can_take_payments=can_take_payments,
                priority=priority_for(can_take_payments, symptom),
                checks_tried=list(checks_tried),
                description=description.strip(),
                callback_phone=callback_phone.strip(),
                # Frozen now: later edits to the device do not rewrite this ticket's history.
                **warranty_at_filing(device, timezone.now()),
                txn_time=txn_time,
                txn_amount=txn_amount,
                card_last4=card_last4,
                txn_response_code=txn_response_code.strip(),
                txn_reference=txn_reference.strip(),
            )
            event = events.record(
                ticket,
                TicketEvent.Kind.FILED,
                reporter,
                data={"checks_tried": list(checks_tried), "priority": ticket.priority},
                announce=False,
            )
            save_attachments(ticket=ticket, event=event, user=reporter, files=attachments)
            hooks.ticket_filed.send(Ticket, ticket=ticket, payments_down_since=payments_down_since)
            # No e-mail of its own: the shop's other members hear of the ticket when it
            # is routed, seconds later, with who handles it (tickets.notifications).
            transaction.on_commit(partial(enqueue_routing, ticket.pk), robust=True)
    except IntegrityError:
        # The same report was sent before (a double click, a re-sent POST), or two
        # requests with one token raced: the first one won.
        existing = Ticket.objects.filter(merchant=merchant, submission_token=token).first()
        if existing is None:
            raise
        return existing, False
    return ticket, True


def _open_tickets_for(
    merchant: Merchant, device: Device, category: str, symptom: str
) -> list[Ticket]:
    """The shop's open tickets for this fault of the terminal, oldest first, under a lock
    on the terminal's row: two reports of one fault at once (two tabs, two colleagues)
    take turns, so the second sees the first. Served by `ticket_device_created`."""
    from devices.models import Device

    list(
        Device.objects.select_for_update()
        .filter(pk=device.pk)
        .order_by()
        .values_list("pk", flat=True)
    )
    return list(
        Ticket.objects.filter(merchant=merchant, device=device, category=category, symptom=symptom)
        .open()
        .only("pk", "reference", "submission_token", "merchant_id")
        .order_by("created_at", "pk")
    )


def warranty_at_filing(device: Device, now: datetime) -> dict[str, Any]:
    """The ticket's copy of the terminal's warranty as it stands when it is filed."""
    status = device.warranty_status(timezone.localdate(now))
    edited = device.merchant_changed_warranty_at
    recent = timedelta(days=settings.WARRANTY_EDIT_FLAG_DAYS)
    return {
        "warranty_status": status,
        "warranty_end": device.warranty_end,
        "warranty_voided_on": device.warranty_voided_on if device.warranty_void else None,
        "warranty_void_reason": device.warranty_void_reason if device.warranty_void else "",
        "warranty_check": "" if status == WarrantyStatus.UNKNOWN else device.warranty_check,
        "warranty_check_note": device.warranty_check_note,
        "warranty_edited_at": edited if edited and edited >= now - recent else None,
    }


def save_attachments(
    *,
    ticket: Ticket,
    event: TicketEvent | None,
    user: User,
    files: Iterable[CheckedFile],
) -> list[Attachment]:
    saved = []
    for checked in files:
        attachment = Attachment(
            ticket=ticket,
            event=event,
            original_name=checked.name,
            content_type=checked.content_type,
            size=checked.size,
            uploaded_by=user,
        )
        # upload_to picks a random stored name; the client's name is only shown.
        attachment.file.save(checked.name, checked.file, save=False)
        attachment.save()
        saved.append(attachment)
    return saved


def merchant_reply(
    *,
    ticket: Ticket,
    user: User,
    body: str,
    files: Iterable[CheckedFile] = (),
    data: dict | None = None,
) -> TicketEvent:
    """The merchant's reply and its attachments, in one transaction (mailed after both);
    a failed one leaves no file behind."""
    with atomic_with_uploads():
        event = workflow.merchant_reply(ticket, user, body, data=data)
        save_attachments(ticket=ticket, event=event, user=user, files=files)
        return event


def record_self_help_success(
    *, merchant: Merchant, device: Device, user: User, category: str, checks: Sequence[str]
) -> SelfHelpSuccess:
    """A first-line check fixed it: no ticket, but counted per category for the admins."""
    if device.merchant_id != merchant.pk:
        raise FilingRefused("The terminal belongs to another merchant.")
    return SelfHelpSuccess.objects.create(
        merchant=merchant, device=device, user=user, category=category, checks=list(checks)
    )


# People who leave -------------------------------------------------------------------------


def release_assigned_tickets(
    *, user: User, reason: str, keep_provider_id: int | None = None
) -> int:
    """Give back the open tickets `user` holds, except those in `keep_provider_id`'s
    queues (the provider they still work for), each through the workflow with its event.
    Returns how many went back to their queue.

    Called when a technician is deactivated, moved to another provider or loses their
    membership (tickets.signals), whoever made the change: the Django admin, a shell.
    """
    held = Ticket.objects.filter(assigned_to=user, status__in=workflow.OPEN).order_by("pk")
    if keep_provider_id is not None:
        held = held.exclude(queue__provider_id=keep_provider_id)
    released = 0
    for ticket in held:
        try:
            workflow.unassign_leaver(ticket, user, reason)
        except workflow.NotAllowed:
            continue  # claimed, reassigned or closed since the query: not theirs any more
        released += 1
    return released
