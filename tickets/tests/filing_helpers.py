"""Shared by the filing and merchant-page tests: a valid form, files of each kind."""

from __future__ import annotations

import uuid

from django.core.files.uploadedfile import SimpleUploadedFile

from devices.models import Device
from tickets.models import Category

# Enough of each format for magic-byte detection.
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02" + b"\x00" * 64
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64

# Passes the Luhn check (a well-known test card number).
CARD = "4111 1111 1111 1111"


def png(name: str = "screen.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PNG, content_type="image/png")


def pdf(name: str = "receipt.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def text(name: str = "log.txt", content: bytes = b"Error 11 at 10:02\n") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/plain")


def exe(name: str = "tool.exe") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, EXE, content_type="application/octet-stream")


def filing_data(device: Device, category: str = Category.HARDWARE, **overrides: object) -> dict:
    """A complete, valid POST for /tickets/new/."""
    symptom = {
        Category.HARDWARE: "screen",
        Category.SOFTWARE: "frozen",
        Category.NETWORK: "wifi",
        Category.TRANSACTION: "charged_not_completed",
        Category.OTHER: "other",
    }[category]
    data: dict[str, object] = {
        "device": device.pk,
        "category": category,
        "submission_token": str(uuid.uuid4()),
        "symptom": symptom,
        "error_code": "",
        "can_take_payments": "no",
        "description": "The screen stays dark after a restart.",
        "callback_phone": "+86 138 0000 0000",
        "action": "file",
    }
    if category == Category.TRANSACTION:
        # A payment problem cannot be traced without them (TicketForm.REQUIRED_FOR_PAYMENTS).
        data["txn_time"] = "2026-03-02T12:30"
        data["txn_amount"] = "88.00"
    data.update(overrides)
    return data
