"""What a merchant may attach: photos, PDF receipts and plain text, checked by content.

The browser's content type and the file name are the client's word; the bytes are
not. A file is accepted when its magic bytes (the `filetype` library) name an
allowed type AND its extension belongs to that type, so `photo.jpg` holding a
Windows program, or `invoice.pdf` holding a PNG, is refused. Plain text has no
magic bytes: a `.txt` file must decode as UTF-8 and hold no NUL byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from portal.validators import without_control_characters
from tickets.models import Attachment
from tickets.pci import contains_card_number

MAX_FILES = 5

# Detected content type -> the extensions a file of that type may carry.
ALLOWED: dict[str, frozenset[str]] = {
    "image/jpeg": frozenset({".jpg", ".jpeg"}),
    "image/png": frozenset({".png"}),
    "image/gif": frozenset({".gif"}),
    "image/webp": frozenset({".webp"}),
    "image/heic": frozenset({".heic"}),
    "application/pdf": frozenset({".pdf"}),
}
TEXT_TYPE = "text/plain"
TEXT_EXTENSIONS = frozenset({".txt", ".log"})
# The name of an attachment sent without a usable one.
NEUTRAL_NAME = "attachment"
# The longest name shown (Attachment.original_name), and the longest extension kept
# when shortening one.
NAME_MAX = Attachment._meta.get_field("original_name").max_length
EXTENSION_MAX = 10
ACCEPT = ",".join(sorted({*TEXT_EXTENSIONS, *(e for exts in ALLOWED.values() for e in exts)}))


@dataclass(frozen=True)
class CheckedFile:
    file: UploadedFile
    name: str
    content_type: str
    size: int


def display_name(client_name: str) -> str:
    """The name an attachment is shown under: the client's file name without its path or
    control characters, shortened in the middle so it keeps its extension (the type check
    reads the extension, and "photo.jpeg" cut to "photo.jp" would be refused as the wrong
    type). Never a path: the stored name is random (attachment_upload_to)."""
    name = without_control_characters(PurePath(client_name).name).strip()
    if len(name) > NAME_MAX:
        stem, suffix = _split(name)
        name = stem[: NAME_MAX - len(suffix) - 1] + "…" + suffix
    return name or NEUTRAL_NAME


def _split(name: str) -> tuple[str, str]:
    suffix = PurePath(name).suffix
    # An "extension" of dozens of characters is part of the name, not a type.
    if len(suffix) > EXTENSION_MAX:
        return name, ""
    return name[: len(name) - len(suffix)], suffix


def _head(upload: UploadedFile, size: int = 8192) -> bytes:
    upload.seek(0)
    head = upload.read(size)
    upload.seek(0)
    return head


def check_upload(upload: UploadedFile) -> CheckedFile:
    """The file with its true content type, or ValidationError saying what is wrong."""
    name = display_name(upload.name or "")
    if contains_card_number(name):
        # A phone names a photo of a receipt after what it read on it: keep the photo,
        # never the number (the name is stored and shown). Only the extension is kept.
        name = NEUTRAL_NAME + PurePath(name).suffix.lower()
    max_bytes = settings.UPLOAD_MAX_BYTES
    if upload.size is None or upload.size > max_bytes:
        raise ValidationError(
            _("“%(name)s” is larger than %(max)s.")
            % {"name": name, "max": filesizeformat(max_bytes)},
            code="too_large",
        )
    if upload.size == 0:
        raise ValidationError(_("“%(name)s” is empty.") % {"name": name}, code="empty")
    extension = PurePath(name).suffix.lower()
    kind = filetype.guess(_head(upload))
    if kind is not None:
        allowed_extensions = ALLOWED.get(kind.mime)
        if allowed_extensions is None:
            raise ValidationError(_refused(name), code="type")
        if extension not in allowed_extensions:
            raise ValidationError(
                _("“%(name)s” does not hold what its name says. Attach photos, PDF or text only.")
                % {"name": name},
                code="mismatch",
            )
        return CheckedFile(upload, name, kind.mime, upload.size)
    if extension not in TEXT_EXTENSIONS:
        raise ValidationError(_refused(name), code="type")
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError(
            _("“%(name)s” is not plain text (UTF-8).") % {"name": name}, code="not_text"
        ) from None
    if b"\x00" in data:
        raise ValidationError(
            _("“%(name)s” is not plain text (UTF-8).") % {"name": name}, code="not_text"
        )
    return CheckedFile(upload, name, TEXT_TYPE, upload.size)


def _refused(name: str) -> str:
    return _(
        "“%(name)s” cannot be attached: only photos (JPEG, PNG, GIF, WebP, HEIC), "
        "PDF and plain text files are accepted."
    ) % {"name": name}


def check_uploads(uploads: list[UploadedFile]) -> list[CheckedFile]:
    if len(uploads) > MAX_FILES:
        raise ValidationError(
            _("Attach at most %(max)d files.") % {"max": MAX_FILES}, code="too_many"
        )
    errors: list[ValidationError] = []
    checked: list[CheckedFile] = []
    for upload in uploads:
        try:
            checked.append(check_upload(upload))
        except ValidationError as error:
            errors.append(error)
    if errors:
        raise ValidationError(errors)
    return checked
