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
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from devices.warranty import WarrantyStatus
from tickets import events, workflow
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


# Routing ----------------------------------------------------------------------------------


def enqueue_routing(ticket_id: int) -> None:
    """Publish `route_ticket`; with the broker down this fails fast, and the sweeper retries.

    `retry=False`: Celery would otherwise retry publishing for a long time, holding the
    merchant's request open. The broker's connect/socket timeouts are in settings.
    """
    from tickets.tasks import route_ticket

    try:
        route_ticket.apply_async((ticket_id,), retry=False)
    except Exception:
        logger.warning("Could not enqueue routing of ticket %s; the sweeper will", ticket_id)
        raise


def sweep_unrouted(now: datetime | None = None) -> dict[str, int]:
    """Enqueue routing again for tickets still `new` after the grace period.

    Each sweep counts one attempt; after ROUTING_MAX_ATTEMPTS the ticket is marked
    `routing_failed` and `needs_admin` with a `routing_failed` event, and left alone.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.ROUTING_GRACE_SECONDS)
    max_attempts = settings.ROUTING_MAX_ATTEMPTS
    stale = Ticket.objects.filter(
        status=Ticket.Status.NEW, routing_failed=False, created_at__lte=cutoff
    ).values_list("pk", flat=True)
    requeued = failed = 0
    for ticket_id in list(stale[:500]):
        if _give_up_if_exhausted(ticket_id, max_attempts):
            failed += 1
            continue
        try:
            enqueue_routing(ticket_id)
        except Exception:
            # The broker is still down: the next sweep tries again; nothing was attempted.
            break
        # A conditional update (an F() expression): two sweepers at once never lose a count,
        # and a ticket routed meanwhile is not counted.
        Ticket.objects.filter(pk=ticket_id, status=Ticket.Status.NEW, routing_failed=False).update(
            route_attempts=F("route_attempts") + 1
        )
        requeued += 1
    return {"requeued": requeued, "failed": failed}


def _give_up_if_exhausted(ticket_id: int, max_attempts: int) -> bool:
    with transaction.atomic():
        ticket = (
            Ticket.objects.select_for_update()
            .filter(pk=ticket_id, status=Ticket.Status.NEW, routing_failed=False)
            .first()
        )
        if ticket is None or ticket.route_attempts < max_attempts:
            return False
        ticket.routing_failed = True
        ticket.needs_admin = True
        ticket.save(update_fields=["routing_failed", "needs_admin", "updated_at"])
        events.record(
            ticket,
            TicketEvent.Kind.ROUTING_FAILED,
            None,
            _("Routing did not succeed after %(n)d attempts: an admin must route it.")
            % {"n": ticket.route_attempts},
            public=False,
            data={"attempts": ticket.route_attempts},
        )
        return True


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
) -> tuple[Ticket, bool]:
    """File a fault ticket. Returns (ticket, created).

    The same `submission_token` from the same merchant (a double click, a re-sent
    POST) returns the ticket filed the first time, with created=False.
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
    # No "already filed?" query first: the unique (merchant, submission_token) constraint
    # answers that in the INSERT itself, one query fewer on every filing (bench W1), and
    # it is the only check that also holds for two requests racing each other.
    try:
        with transaction.atomic():
            ticket = Ticket.objects.create(
                merchant=merchant,
                device=device,
                reporter=reporter,
                submission_token=token,
                category=category,
                symptom=symptom,
                error_code=error_code.strip(),
                can_take_payments=can_take_payments,
                priority=priority_for(can_take_payments),
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
    *, ticket: Ticket, user: User, body: str, files: Iterable[CheckedFile] = ()
) -> TicketEvent:
    """The merchant's reply and its attachments, in one transaction (mailed after both)."""
    with transaction.atomic():
        event = workflow.merchant_reply(ticket, user, body)
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
