"""Uploads: too big, a type disguised by its extension, a name that climbs out of the folder.

Each upload form is sent crafted multipart bodies (the test client would clean a
"../" file name itself, a browser or a script need not). A refused file leaves no
row and no file; an accepted one lives inside MEDIA_ROOT under a name we chose;
nothing is ever written outside MEDIA_ROOT. Downloads are attachments, never
rendered, and another merchant's file is a 404 however its URL is guessed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from devices.models import Device
from tests.security.conftest import PNG, Scenario
from tickets.models import Attachment, Ticket

LIMIT = 4096  # UPLOAD_MAX_BYTES for these tests: a small file is enough to be "too big"

EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48
EXE += b"This program cannot be run in DOS mode.\r\r\n$" + b"\x00" * 200
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclass(frozen=True)
class Upload:
    label: str
    filename: str
    content: bytes
    content_type: str = "image/png"
    # The device proof form stores a PDF or an image under the type its bytes show, so a
    # PDF that merely carries the wrong extension is fine there (and stored as .pdf).
    only_attachments: bool = False


REFUSED = [
    Upload("too big", "big.png", PNG + b"\x00" * (2 * LIMIT)),
    Upload("a program named .png", "photo.png", EXE),
    Upload("a program named .jpg", "photo.jpg", EXE, "image/jpeg"),
    Upload("a program named .txt", "notes.txt", EXE, "text/plain"),
    Upload("a program named .pdf", "receipt.pdf", EXE, "application/pdf"),
    Upload("HTML named .png", "photo.png", HTML),
    Upload("SVG with a script named .png", "photo.png", SVG),
    Upload("a PDF named .png", "photo.png", PDF, only_attachments=True),
    Upload("a program with its own name", "setup.exe", EXE, "application/octet-stream"),
    Upload("HTML with its own name", "page.html", HTML, "text/html"),
]

ESCAPING_NAMES = [
    "../../{token}.png",
    "..\\..\\{token}.png",
    "/tmp/{token}.png",  # noqa: S108 - the point is that it is not written there
    "....//....//{token}.png",
    "%2e%2e%2f%2e%2e%2f{token}.png",
]


def multipart(fields: dict[str, object], field: str, upload: Upload) -> tuple[bytes, str]:
    """A multipart body exactly as given: the file name is not cleaned on the way."""
    boundary = f"----posdesk{uuid.uuid4().hex}"
    parts: list[bytes] = []
    for name, value in fields.items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{item}\r\n".encode()
            )
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
        f'filename="{upload.filename}"\r\nContent-Type: {upload.content_type}\r\n\r\n'.encode()
        + upload.content
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@dataclass(frozen=True)
class Target:
    """An upload form: where it posts, what else it needs, and what it stores."""

    label: str
    field: str

    def url(self, scenario: Scenario) -> str:
        world = scenario.world
        if self.label == "filing":
            return reverse("tickets:new")
        if self.label == "merchant reply":
            return reverse("tickets:reply", args=[scenario.ticket_a.reference])
        return reverse("devices:edit", args=[world.device_a.pk])

    def fields(self, scenario: Scenario) -> dict[str, object]:
        world = scenario.world
        if self.label == "filing":
            return {
                "device": world.device_a.pk,
                "category": "hardware",
                "submission_token": uuid.uuid4(),
                # Not the scenario's open "screen" ticket: a second report of that fault
                # of the terminal would be refused before any file is looked at.
                "symptom": "keypad",
                "can_take_payments": "no",
                "description": "The screen stays dark after a restart.",
                "callback_phone": "+86 138 0000 0000",
            }
        if self.label == "merchant reply":
            return {"body": "Here is a photo of the screen."}
        device: Device = world.device_a
        return {
            "model": device.model_id,
            "serial_number": device.serial_number,
            "purchase_date": device.purchase_date.isoformat(),
            "warranty_end": device.warranty_end.isoformat(),
            "provider": device.provider_id,
            "acquirer": device.acquirer_id or "",
            "status": device.status,
            "location": device.location,
        }

    def stored(self, scenario: Scenario) -> list[str]:
        """Names of the files the database points at for this form."""
        if self.label == "device proof":
            device = Device.objects.get(pk=scenario.world.device_a.pk)
            return [device.proof_of_purchase.name] if device.proof_of_purchase else []
        return [a.file.name for a in Attachment.objects.all()]


TARGETS = [
    Target("filing", "attachments"),
    Target("merchant reply", "attachments"),
    Target("device proof", "proof_of_purchase"),
]


def files_under(root: Path) -> set[Path]:
    return {path for path in root.rglob("*") if path.is_file()}


@pytest.fixture
def small_limit(settings) -> None:  # noqa: ANN001
    settings.UPLOAD_MAX_BYTES = LIMIT


def send(client: Client, target: Target, scenario: Scenario, upload: Upload):  # noqa: ANN201
    body, content_type = multipart(target.fields(scenario), target.field, upload)
    return client.generic("POST", target.url(scenario), body, content_type=content_type)


@pytest.mark.parametrize(
    ("target", "upload"),
    [
        pytest.param(target, upload, id=f"{target.label}-{upload.label}")
        for target in TARGETS
        for upload in REFUSED
        if not (upload.only_attachments and target.label == "device proof")
    ],
)
def test_a_bad_upload_is_refused_and_nothing_is_stored(
    scenario: Scenario,
    as_user,  # noqa: ANN001
    media_root: Path,
    small_limit: None,
    target: Target,
    upload: Upload,
) -> None:
    before_files = files_under(media_root.parent)
    before_tickets = Ticket.objects.count()
    before_stored = target.stored(scenario)

    response = send(as_user(scenario.world.alice), target, scenario, upload)

    # The form comes back (200/400) with the reason; it is not a redirect to success.
    assert response.status_code in {200, 400}, response.status_code
    assert response.context["form" if target.label != "merchant reply" else "reply_form"].errors
    assert target.stored(scenario) == before_stored
    assert Ticket.objects.count() == before_tickets
    assert files_under(media_root.parent) == before_files


@pytest.mark.parametrize("pattern", ESCAPING_NAMES)
@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.label)
def test_a_file_name_never_chooses_where_the_file_is_written(
    scenario: Scenario,
    as_user,  # noqa: ANN001
    media_root: Path,
    target: Target,
    pattern: str,
) -> None:
    token = f"escape-{uuid.uuid4().hex}"
    upload = Upload("climbing name", pattern.format(token=token), PNG)
    outside_before = files_under(media_root.parent) - files_under(media_root)
    stored_before = set(target.stored(scenario))

    response = send(as_user(scenario.world.alice), target, scenario, upload)

    # A valid photo: accepted (so the test is not passing on a refusal), under our name.
    assert response.status_code == 302, response.status_code
    assert set(target.stored(scenario)) - stored_before
    # Nothing new outside MEDIA_ROOT, and no file anywhere we can think of carries the name.
    assert files_under(media_root.parent) - files_under(media_root) == outside_before
    for place in (Path("/tmp"), Path(settings.BASE_DIR), media_root.parent, media_root):  # noqa: S108
        assert not list(place.glob(f"{token}*")), place
    for name in target.stored(scenario):
        path = (media_root / name).resolve()
        assert path.is_relative_to(media_root.resolve())
        assert token not in name, f"the client's file name became the stored path: {name}"


def test_an_html_file_named_txt_is_only_ever_downloaded_as_text(
    scenario: Scenario,
    as_user,  # noqa: ANN001
    media_root: Path,
) -> None:
    client = as_user(scenario.world.alice)
    target = TARGETS[1]
    response = send(client, target, scenario, Upload("html.txt", "notes.txt", HTML, "text/html"))
    accepted = Attachment.objects.filter(ticket=scenario.ticket_a, original_name="notes.txt")
    if response.status_code in {200, 400} or not accepted.exists():
        return  # refused outright: also fine
    response = client.get(accepted.get().get_absolute_url())
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_another_merchants_attachment_cannot_be_downloaded_by_guessing(
    scenario: Scenario,
    as_user,  # noqa: ANN001
) -> None:
    alice = as_user(scenario.world.alice)
    own = reverse(
        "tickets:attachment", args=[scenario.ticket_a.reference, scenario.attachment_a.pk]
    )
    assert alice.get(own).status_code == 200
    for reference in (scenario.ticket_a.reference, scenario.ticket_b.reference):
        for pk in (scenario.attachment_b.pk, scenario.attachment_b.pk + 1000):
            url = reverse("tickets:attachment", args=[reference, pk])
            assert alice.get(url).status_code == 404, url


def test_downloads_are_attachments_that_browsers_do_not_sniff(
    scenario: Scenario,
    as_user,  # noqa: ANN001
) -> None:
    response = as_user(scenario.world.alice).get(scenario.attachment_a.get_absolute_url())
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == PNG
