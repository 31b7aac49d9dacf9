"""Uploads live exactly as long as the rows that name them.

A file is written while its row is saved, inside the transaction: that is when a full
disk can still undo the whole action (a ticket is not filed with its photos missing).
So the file must go again when the transaction does not commit, and when its row is
deleted later:

- `atomic_with_uploads()` is `transaction.atomic()` that also removes every file
  `UploadStorage` wrote inside it when the block is rolled back (an error, a duplicate
  submission, a full disk on the second of five photos). Blocks nest: an inner block's
  files are the outer block's to keep or remove. Use it for the outermost transaction of
  anything that saves an upload (an `atomic()` around it would commit or roll back
  without telling it).
- `UploadStorage` (the default storage) turns an `OSError` while writing (ENOSPC, EDQUOT,
  EIO...) into `StorageFailed`, whose message is for the person who uploaded, after
  removing the part already written.
- `delete_on_commit()` removes a file once the deletion of its row (or its replacement)
  commits; a rolled-back delete keeps it.
- `check_media_storage()` raises `StorageUnavailable` when the configured media storage
  does not answer (/readyz and `manage.py backup` call it).

With MEDIA_STORAGE=s3 the default storage is `portal.storage_s3.S3UploadStorage`, which
keeps the same promises (a failed write is a `StorageFailed`, a rolled-back write is
removed); it lives in its own module so a filesystem deployment never imports boto3.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from django.core.files.base import File
from django.core.files.storage import FileSystemStorage, Storage
from django.db import transaction
from django.db.models.fields.files import FieldFile
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)

# The files written by the innermost open atomic_with_uploads() block, if any.
_written: ContextVar[list[tuple[Storage, str]] | None] = ContextVar("uploads_written", default=None)

FULL = (errno.ENOSPC, errno.EDQUOT)


class StorageFailed(Exception):
    """An upload could not be written; the message is for the person who sent it."""

    def __init__(self, error: OSError) -> None:
        if error.errno in FULL:
            message = _(
                "Your files could not be stored: the server's storage is full. Nothing was "
                "saved, and what you typed is kept below. Try again later, or send it "
                "without the files."
            )
        else:
            message = _(
                "Your files could not be stored because of a problem on the server. Nothing "
                "was saved, and what you typed is kept below. Try again in a few minutes."
            )
        super().__init__(message)
        self.errno = error.errno


class UploadStorage(FileSystemStorage):
    def _save(self, name: str, content: File) -> str:
        try:
            name = self._write(name, content)
        except OSError as error:
            # FileExistsError is handled by Django (another name is chosen); anything
            # else stopped the write, perhaps half-way. Stored names are random (uuid4),
            # so `name` is ours and never another upload's.
            self._remove_partial(name)
            logger.error("Could not store the upload %s: %s", name, error)
            raise StorageFailed(error) from error
        track_write(self, name)
        return name

    def check_ready(self, timeout: float) -> None:
        # The first upload creates the folder: a missing one is ready if it can be made.
        folder = Path(self.location)
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
            raise StorageUnavailable("the media folder is not a writable directory")

    def _write(self, name: str, content: File) -> str:
        """FileSystemStorage's write (a test's full disk replaces it)."""
        return super()._save(name, content)

    def _remove_partial(self, name: str) -> None:
        try:
            self.delete(name)
        except OSError:
            logger.exception("Could not remove the partial upload %s", name)


def track_write(storage: Storage, name: str) -> None:
    """Note a file written inside the innermost atomic_with_uploads() block, if any, so
    that a rollback removes it (every upload storage calls this after a write)."""
    written = _written.get()
    if written is not None:
        written.append((storage, name))


class StorageUnavailable(Exception):
    """The media storage does not answer; the message names no host, key or secret."""


def check_media_storage(timeout: float = 2.0) -> None:
    """Raise StorageUnavailable unless the default storage answers within about `timeout`
    seconds: the media folder is (or can become) a writable directory, or the S3 bucket
    answers a HEAD with our credentials. A storage of another kind is asked `exists()`."""
    from django.core.files.storage import storages

    storage = storages["default"]
    check = getattr(storage, "check_ready", None)
    if check is not None:
        check(timeout)
        return
    try:
        storage.exists("readyz-probe")
    except Exception as error:  # noqa: BLE001 - any failure of a foreign backend
        raise StorageUnavailable(type(error).__name__) from error


def _remove(files: list[tuple[Storage, str]]) -> None:
    for storage, name in files:
        try:
            storage.delete(name)
        except OSError:
            # Left behind, not lost: an orphan file, never a row without its file.
            logger.exception("Could not remove the upload %s of a rolled-back save", name)


@contextmanager
def atomic_with_uploads() -> Iterator[None]:
    outer = _written.get()
    mine: list[tuple[Storage, str]] = []
    token = _written.set(mine)
    try:
        with transaction.atomic():
            yield
    except BaseException:
        _remove(mine)
        raise
    finally:
        _written.reset(token)
    if outer is not None:
        outer.extend(mine)


def delete_on_commit(field_file: FieldFile | None, name: str | None = None) -> None:
    """Remove the file `field_file` names (or `name` in its storage) once the current
    transaction commits: at once outside one."""
    name = name if name is not None else (field_file.name if field_file else "")
    if not name or field_file is None:
        return
    storage = field_file.storage

    def remove() -> None:
        try:
            storage.delete(name)
        except OSError:
            logger.exception("Could not remove the upload %s", name)

    transaction.on_commit(remove)
