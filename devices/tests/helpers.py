"""Small builders shared by the device view tests."""

from __future__ import annotations

from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from conftest import World

PDF_BYTES = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< >>\n%%EOF\n"
PNG_BYTES = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)


def pdf(name: str = "receipt.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


def device_post(world: World, **overrides: object) -> dict[str, object]:
    """A valid registration form for alice's shop; override what the test is about."""
    data: dict[str, object] = {
        "model": world.device_a.model.pk,
        "serial_number": "NEW-0001",
        "purchase_date": days_ago(100),
        "warranty_end": "",
        "warranty_void_reason": "",
        "provider": world.provider_x.pk,
        "acquirer": world.provider_x.pk,
        "status": "active",
        "location": "Till 1",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def days_ago(days: int) -> str:
    return (timezone.localdate() - timedelta(days=days)).isoformat()
