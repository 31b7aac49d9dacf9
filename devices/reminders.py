"""Warranty-expiry reminders: each shop is e-mailed once, some days before a terminal's
warranty ends, which terminals and what changes after that date.

Run daily by beat (`devices.tasks.send_warranty_reminders`). A terminal is due while its
warranty end lies between today and today + WARRANTY_REMINDER_DAYS, so a missed day is
caught up the next, and an end already past is never reminded of.

Once only, even with two runs at the same time: each shop is handled in its own
transaction that locks the shop's row, looks again for its due terminals, records a
`WarrantyReminder` for each and writes the e-mails to the outbox (`mail`), which sends
them after the commit and retries until the mail server takes them. A second run
skips a shop that is being handled and, once the first has committed, finds nothing
left to send.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.urls import reverse
from django.utils import timezone

from devices.models import Device, Merchant, WarrantyReminder
from devices.warranty import WarrantyCheck

if TYPE_CHECKING:
    from portal.models import User

# A retired or replaced terminal is out of the shop: its warranty is no one's concern.
REMINDED_STATUSES = (Device.Status.ACTIVE, Device.Status.IN_REPAIR)


def due_devices(today: date) -> QuerySet[Device]:
    """Terminals whose warranty ends within the reminder window and that have had no
    reminder for that end date."""
    last = today + timedelta(days=settings.WARRANTY_REMINDER_DAYS)
    reminded = WarrantyReminder.objects.filter(
        device=OuterRef("pk"), warranty_end=OuterRef("warranty_end")
    )
    return (
        Device.objects.filter(
            warranty_end__range=(today, last),
            warranty_void=False,
            status__in=REMINDED_STATUSES,
        )
        .exclude(
            # A claim the provider rejected has no warranty to end.
            warranty_check=WarrantyCheck.REJECTED
        )
        .filter(~Exists(reminded))
    )


def shop_recipients(merchant: Merchant) -> list[User]:
    from portal.models import User

    return list(
        User.objects.filter(is_active=True, membership__merchant=merchant)
        .exclude(email="")
        .order_by("pk")
    )


def send_warranty_reminders(*, today: date | None = None) -> int:
    """E-mail each shop about its terminals whose warranty ends soon. Returns the number
    of e-mails written to the outbox."""
    if today is None:
        today = timezone.localdate()
    merchant_ids = sorted(set(due_devices(today).values_list("merchant_id", flat=True)))
    return sum(remind_shop(merchant_id, today=today) for merchant_id in merchant_ids)


def remind_shop(merchant_id: int, *, today: date) -> int:
    """Record one shop's reminders and write its e-mails. Returns the number written."""
    from mail import services as outbox
    from tickets.notifications import absolute

    with transaction.atomic():
        # NO KEY: a ticket or terminal filed for the shop meanwhile (a foreign key to
        # this row) need not wait. SKIP LOCKED: another run is handling this shop; what
        # it leaves unsent, the next run finds.
        merchant = (
            Merchant.objects.select_for_update(no_key=True, skip_locked=True)
            .filter(pk=merchant_id)
            .first()
        )
        if merchant is None:
            return 0
        # Read after the lock: a run that handled the shop meanwhile has committed its
        # records, and they are seen here.
        devices = list(
            due_devices(today)
            .filter(merchant=merchant)
            .select_related("model__brand", "provider")
            .order_by("warranty_end", "brand__name", "model__name", "serial_number")
        )
        recipients = shop_recipients(merchant)
        if not devices or not recipients:
            # Nobody to tell yet: nothing is recorded, so a member added later in the
            # window still hears of it.
            return 0
        reminders = WarrantyReminder.objects.bulk_create(
            WarrantyReminder(device=device, warranty_end=device.warranty_end, merchant=merchant)
            for device in devices
        )
        context = {
            "merchant": merchant,
            "terminals": [(device, absolute(device.get_absolute_url())) for device in devices],
            "first_end": devices[0].warranty_end,
            "link": absolute(reverse("devices:list")),
            "site_url": settings.SITE_URL,
        }
        # One e-mail per shop, end date and set of reminders just recorded (a terminal
        # registered later with the same end date gets its own).
        key = f"warranty-reminder:{merchant.pk}:{devices[0].warranty_end}:{reminders[0].pk}"
        # Each member reads it in their own language (outbox.compose renders per language).
        emails = outbox.compose(
            "warranty_reminder", recipients, context, directory="devices/email", key=key
        )
        return len(outbox.queue(emails))
