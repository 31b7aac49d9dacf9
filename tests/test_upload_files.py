"""Issue 11: an upload lives exactly as long as its row.

Files are written inside the transaction that saves their rows: kept when it commits,
removed when it rolls back (any error, a full disk on the second of two files).
Deleting a ticket or a terminal removes its files once the delete commits. A full disk
is a clear message at the upload field, with what was typed kept. A long file name keeps
its extension.

The full disk is a storage whose write fails with ENOSPC after a number of files,
leaving half a file behind as a real one does.
"""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from django.core.files.base import ContentFile, File
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, transaction
from django.urls import reverse

from conftest import World
from devices.models import Device
from devices.services import add_proof
from portal.storage import StorageFailed, UploadStorage, atomic_with_uploads
from tests.factories import queued_ticket
from tickets import workflow
from tickets.models import Attachment, Ticket, TicketEvent
from tickets.services import file_ticket
from tickets.tests.filing_helpers import PDF, PNG, filing_data, png, text
from tickets.uploads import check_upload

FULL_DISK = "storage is full"


class FullDiskStorage(UploadStorage):
    """Takes `room` files, then fails the next write half-way with ENOSPC."""

    room = 0

    def _write(self, name: str, content: File) -> str:
        if FullDiskStorage.room <= 0:
            self.save_partial(name)
            raise OSError(errno.ENOSPC, "No space left on device")
        FullDiskStorage.room -= 1
        return super()._write(name, content)

    def save_partial(self, name: str) -> None:
        path = Path(self.path(name))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\x89PNG half a file")


@pytest.fixture
def media(settings, tmp_path: Path) -> Path:  # noqa: ANN001
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


@pytest.fixture
def full_disk(settings, media: Path):  # noqa: ANN001, ANN201
    """A disk with room for `full_disk(n)` more files."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": f"{__name__}.FullDiskStorage"},
    }

    def room(files: int) -> None:
        FullDiskStorage.room = files

    room(0)
    return room


def files_in(media: Path) -> list[Path]:
    return sorted(path for path in media.rglob("*") if path.is_file())


def filing(world: World, **overrides: object) -> dict[str, object]:
    from tickets.uploads import check_uploads

    attachments = overrides.pop("attachments", [])
    return {
        "merchant": world.merchant_a,
        "device": world.device_a,
        "reporter": world.alice,
        "category": "hardware",
        "symptom": "screen",
        "can_take_payments": Ticket.Payments.NO,
        "description": "Dark screen.",
        "callback_phone": "+86 138 0000 0000",
        "attachments": check_uploads(attachments),
        **overrides,
    }


# Kept on commit, removed on rollback --------------------------------------------------------


def test_a_filed_tickets_files_are_kept(world: World, media: Path) -> None:
    ticket, created = file_ticket(**filing(world, attachments=[png(), png("two.png")]))
    assert created
    stored = files_in(media)
    assert len(stored) == 2
    assert {Path(a.file.path) for a in ticket.attachments.all()} == set(stored)


def test_a_filing_rolled_back_after_its_files_were_written_leaves_none(
    world: World, media: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saves = []
    original = Attachment.save

    def fail_on_the_second(self: Attachment, *args: object, **kwargs: object) -> None:
        saves.append(self)
        if len(saves) == 2:
            raise DatabaseError("the connection dropped")
        original(self, *args, **kwargs)

    monkeypatch.setattr(Attachment, "save", fail_on_the_second)
    with pytest.raises(DatabaseError):
        file_ticket(**filing(world, attachments=[png(), png("two.png")]))
    assert not Ticket.objects.exists()
    assert files_in(media) == []


@pytest.mark.django_db
def test_a_block_inside_another_leaves_its_files_to_the_outer_one(media: Path) -> None:
    def save_inside_then_fail() -> None:
        with atomic_with_uploads():
            with atomic_with_uploads():
                UploadStorage().save("proofs/inner.pdf", ContentFile(PDF))
            assert files_in(media)  # the inner block is done, the outer one decides
            raise ValueError("the outer block fails")

    with pytest.raises(ValueError, match="the outer block fails"):
        save_inside_then_fail()
    assert files_in(media) == []


def test_a_proof_sent_from_a_ticket_goes_when_the_ticket_action_rolls_back(
    world: World, media: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # workflow.add_proof wraps devices.services.add_proof, which writes the file; the
    # event is recorded after, by the outer transaction.
    ticket = queued_ticket(world.device_a, reporter=world.alice)
    monkeypatch.setattr(workflow, "allowed_actions", lambda *args: {"add_proof"})

    def broken_record(*args: object, **kwargs: object) -> None:
        raise DatabaseError("the connection dropped")

    monkeypatch.setattr(workflow, "_record", broken_record)
    proof = SimpleUploadedFile("receipt.pdf", PDF, content_type="application/pdf")
    with pytest.raises(DatabaseError):
        workflow.add_proof(ticket, world.alice, proof, None)
    assert files_in(media) == []


# A full disk --------------------------------------------------------------------------------


def test_a_full_disk_files_nothing_and_keeps_the_merchants_text(
    world: World,
    as_user,  # noqa: ANN001
    full_disk,  # noqa: ANN001
    media: Path,
) -> None:
    full_disk(1)  # the first photo fits, the second does not
    data = filing_data(
        world.device_a,
        description="Screen went dark at 10:02 during a payment",
        attachments=[png(), png("two.png")],
    )
    response = as_user(world.alice).post(reverse("tickets:new"), data)
    assert response.status_code == 503
    assert response.context["form"].has_error("attachments")
    assert FULL_DISK in response.text
    assert "Screen went dark at 10:02 during a payment" in response.text
    assert not Ticket.objects.exists()
    assert files_in(media) == []  # neither the first photo nor half of the second


def test_the_merchant_files_again_once_there_is_room(
    world: World,
    as_user,  # noqa: ANN001
    full_disk,  # noqa: ANN001
    media: Path,
) -> None:
    data = filing_data(world.device_a, attachments=[png()])
    assert as_user(world.alice).post(reverse("tickets:new"), data).status_code == 503
    full_disk(5)
    data = filing_data(world.device_a, submission_token=data["submission_token"])
    data["attachments"] = [png()]
    assert as_user(world.alice).post(reverse("tickets:new"), data).status_code == 302
    assert Ticket.objects.count() == 1
    assert len(files_in(media)) == 1


def test_a_reply_on_a_full_disk_is_not_sent_and_keeps_its_text(
    world: World,
    as_user,  # noqa: ANN001
    full_disk,  # noqa: ANN001
    media: Path,
) -> None:
    ticket = queued_ticket(world.device_a, reporter=world.alice)
    response = as_user(world.alice).post(
        reverse("tickets:reply", args=[ticket.reference]),
        {"body": "Here is the photo you asked for", "attachments": [png()]},
    )
    assert response.status_code == 200
    assert FULL_DISK in response.text
    assert "Here is the photo you asked for" in response.text
    assert not TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.MERCHANT_REPLY)
    assert files_in(media) == []


def test_a_proof_on_a_full_disk_is_refused_at_its_field_and_the_rest_is_kept(
    world: World,
    as_user,  # noqa: ANN001
    full_disk,  # noqa: ANN001
    media: Path,
) -> None:
    device = world.device_a
    response = as_user(world.alice).post(
        reverse("devices:new"),
        {
            "model": device.model.pk,
            "serial_number": "SN-FULL-1",
            "purchase_date": "2026-01-05",
            "provider": world.provider_x.pk,
            "status": Device.Status.ACTIVE,
            "location": "Till 7",
            "proof_of_purchase": SimpleUploadedFile("r.pdf", PDF, content_type="application/pdf"),
        },
    )
    assert response.status_code == 200
    assert response.context["form"].has_error("proof_of_purchase")
    assert FULL_DISK in response.text
    assert "SN-FULL-1" in response.text
    assert "Till 7" in response.text
    assert not Device.objects.filter(serial_number="SN-FULL-1").exists()
    assert files_in(media) == []


def test_the_storage_says_full_only_when_it_is(
    media: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: UploadStorage, name: str, content: File) -> str:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(UploadStorage, "_write", broken)
    with pytest.raises(StorageFailed) as failure:
        UploadStorage().save("proofs/x.pdf", ContentFile(PDF))
    assert FULL_DISK not in str(failure.value)
    assert "problem on the server" in str(failure.value)


# Deleting a row removes its files ---------------------------------------------------------


def test_deleting_a_ticket_removes_its_files(
    world: World,
    media: Path,
    django_capture_on_commit_callbacks,  # noqa: ANN001
) -> None:
    ticket, _created = file_ticket(**filing(world, attachments=[png(), png("two.png")]))
    assert len(files_in(media)) == 2
    with django_capture_on_commit_callbacks(execute=True):
        ticket.events.all().delete()  # the admin deletes a ticket with its timeline
        Ticket.objects.filter(pk=ticket.pk).delete()
    assert files_in(media) == []


def test_deleting_a_terminal_removes_its_proof(
    world: World,
    media: Path,
    django_capture_on_commit_callbacks,  # noqa: ANN001
) -> None:
    proof = SimpleUploadedFile("receipt.pdf", PDF, content_type="application/pdf")
    add_proof(world.device_a, user=world.alice, proof=proof, purchase_date=None)
    assert len(files_in(media)) == 1
    with django_capture_on_commit_callbacks(execute=True):
        Device.objects.filter(pk=world.device_a.pk).delete()
    assert files_in(media) == []


def test_a_delete_that_rolls_back_keeps_the_files(world: World, media: Path) -> None:
    ticket, _created = file_ticket(**filing(world, attachments=[png()]))

    def delete_then_fail() -> None:
        with transaction.atomic():
            Attachment.objects.filter(ticket=ticket).delete()
            raise RuntimeError("changed my mind")

    with pytest.raises(RuntimeError):
        delete_then_fail()
    assert len(files_in(media)) == 1


# File names --------------------------------------------------------------------------------


def test_a_long_file_name_keeps_its_extension_and_is_accepted() -> None:
    checked = check_upload(png("IMG_" + "2026-11-30 receipt of the repair " * 10 + ".png"))
    assert checked.name.endswith(".png")
    assert len(checked.name) <= 200
    assert checked.content_type == "image/png"


def test_a_long_text_file_name_keeps_its_extension_and_is_accepted() -> None:
    checked = check_upload(text("terminal-log-" + "x" * 300 + ".txt"))
    assert checked.name.endswith(".txt")
    assert checked.content_type == "text/plain"


def test_a_long_name_of_a_refused_type_gets_the_type_message(
    world: World,
    as_user,  # noqa: ANN001
) -> None:
    name = "setup-" + "y" * 300 + ".exe"
    upload = SimpleUploadedFile(name, b"MZ" + b"\x00" * 64, content_type="image/png")
    response = as_user(world.alice).post(
        reverse("tickets:new"), filing_data(world.device_a, attachments=[upload])
    )
    assert response.status_code == 200
    assert "cannot be attached: only photos" in response.text
    assert "does not hold what its name says" not in response.text


def test_control_characters_are_taken_out_of_a_file_name(world: World, media: Path) -> None:
    ticket, _created = file_ticket(
        **filing(world, attachments=[SimpleUploadedFile("scr\x1b[0meen\x07.png", PNG)])
    )
    assert ticket.attachments.get().original_name == "scr[0meen.png"
