"""Demo tickets for `manage.py seed_demo`: filed through the real service, so they route.

Idempotent: each demo ticket carries a fixed submission token, and filing the same
token again returns the ticket filed the first time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TextIO

from devices.models import Device
from devices.warranty import WarrantyStatus
from portal.models import User
from tickets.models import Category
from tickets.services import file_ticket

DEMO_NAMESPACE = uuid.UUID("6f0c3a52-9a57-4d1e-9b1c-5d2f3e1a7c10")


@dataclass(frozen=True)
class DemoTicket:
    username: str
    category: str
    symptom: str
    payments: str
    description: str
    warranty: str | None = None  # prefer a terminal with this warranty status
    error_code: str = ""
    checks: tuple[str, ...] = ()


DEMO_TICKETS = [
    DemoTicket(
        "merchant1",
        Category.HARDWARE,
        "screen",
        "no",
        "The screen stays black since this morning; the power light is on.",
        warranty=WarrantyStatus.IN,
        checks=("power-cable", "restart"),
    ),
    DemoTicket(
        "merchant1",
        Category.HARDWARE,
        "printer",
        "degraded",
        "Receipts come out blank or jam after a few lines.",
        warranty=WarrantyStatus.OUT,
        checks=("paper",),
    ),
    DemoTicket(
        "merchant1",
        Category.TRANSACTION,
        "charged_not_completed",
        "yes",
        "A guest's card was charged 268.00 but the terminal showed the payment as failed.",
        error_code="05",
        checks=("receipt",),
    ),
    DemoTicket(
        "merchant2",
        Category.NETWORK,
        "wifi",
        "no",
        "The terminal cannot connect to the shop Wi-Fi after the router was replaced.",
        checks=("router", "restart"),
    ),
    DemoTicket(
        "merchant2",
        Category.SOFTWARE,
        "error_code",
        "degraded",
        "Error 11 appears on every contactless payment; chip payments still work.",
        error_code="11",
        checks=("restart",),
    ),
    DemoTicket(
        "merchant2",
        Category.HARDWARE,
        "battery",
        "yes",
        "The battery lasts less than an hour away from the base.",
        warranty=WarrantyStatus.UNKNOWN,
        checks=("battery",),
    ),
]


def _pick_device(devices: list[Device], wanted: str | None, index: int) -> Device:
    if wanted is not None:
        for device in devices:
            if device.warranty_status() == wanted:
                return device
    return devices[index % len(devices)]


def seed_demo_tickets(stdout: TextIO) -> int:
    """File the demo tickets that do not exist yet. Returns how many were filed."""
    filed = 0
    for index, spec in enumerate(DEMO_TICKETS):
        user = User.objects.filter(username=spec.username).first()
        merchant = user.merchant if user else None
        if merchant is None:
            stdout.write(f"  demo tickets: no merchant user {spec.username}, skipped\n")
            continue
        devices = list(
            Device.objects.filter(merchant=merchant, status=Device.Status.ACTIVE)
            .select_related("model__brand")
            .order_by("serial_number")
        )
        if not devices:
            stdout.write(f"  demo tickets: {merchant} has no terminals, skipped\n")
            continue
        ticket, created = file_ticket(
            merchant=merchant,
            device=_pick_device(devices, spec.warranty, index),
            reporter=user,
            category=spec.category,
            symptom=spec.symptom,
            can_take_payments=spec.payments,
            description=spec.description,
            callback_phone=merchant.contact_phone or "+86 400 000 0000",
            error_code=spec.error_code,
            checks_tried=spec.checks,
            submission_token=uuid.uuid5(DEMO_NAMESPACE, f"{spec.username}-{index}"),
        )
        if created:
            filed += 1
            stdout.write(f"  demo ticket {ticket.reference}: {spec.description[:50]}\n")
    stdout.write(f"Demo tickets: {filed} filed.\n")
    return filed
