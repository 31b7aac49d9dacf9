"""Backups: the database and every upload, into one folder per run, and back.

A backup folder holds

- `database.dump`: `pg_dump --format=custom` of the PostgreSQL database (restored with
  `pg_restore`, which can also pick single tables out of it), or `database.sqlite3`, a
  consistent copy of the SQLite file of the embedded default;
- `media.tar`: every file of the configured media storage (MEDIA_ROOT or the S3
  bucket), under its stored name, read through the storage so both work the same;
- `manifest.json`: when, what engine, and each file's size and SHA-256.

The database is dumped first, then the files: a file is written before its row
commits and removed only after its row's deletion commits, so every row in the dump
finds its file in the tar (except one deleted in the seconds between the two).

A run writes into `<name>.partial/` and renames it when complete: a folder without the
suffix is a whole backup. Restoring checks every file against the manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, storages
from django.db import connections
from django.utils import timezone

from portal.storage import check_media_storage

MANIFEST = "manifest.json"
PG_DUMP_FILE = "database.dump"
SQLITE_FILE = "database.sqlite3"
MEDIA_FILE = "media.tar"
PREFIX = "posdesk-"
PARTIAL = ".partial"
FORMAT_VERSION = 1


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why, for an operator."""


# The database -------------------------------------------------------------------------------


def _engine() -> str:
    engine = settings.DATABASES["default"]["ENGINE"]
    if engine == "django.db.backends.postgresql":
        return "postgresql"
    if engine == "django.db.backends.sqlite3":
        return "sqlite"
    raise BackupError(f"backups know PostgreSQL and SQLite, not {engine}")


def _pg_args() -> tuple[list[str], dict[str, str]]:
    """Connection arguments for pg_dump / pg_restore, and the password in their
    environment (never on a command line that `ps` shows)."""
    db = settings.DATABASES["default"]
    args = []
    for flag, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if db.get(key):
            args += [flag, str(db[key])]
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return args, env


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} is not installed (Debian: postgresql-client)")
    return found


def _run(argv: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(f"{Path(argv[0]).name} failed:\n{result.stderr.strip()[-2000:]}")


def dump_database(folder: Path) -> str:
    if _engine() == "sqlite":
        source = sqlite3.connect(settings.DATABASES["default"]["NAME"])
        target = sqlite3.connect(folder / SQLITE_FILE)
        with target:
            source.backup(target)  # a consistent copy while the portal runs
        source.close()
        target.close()
        return SQLITE_FILE
    args, env = _pg_args()
    name = settings.DATABASES["default"]["NAME"]
    _run(
        [_pg_tool("pg_dump"), "--format=custom", f"--file={folder / PG_DUMP_FILE}", *args, name],
        env,
    )
    return PG_DUMP_FILE


def restore_database(folder: Path, engine: str) -> None:
    if engine != _engine():
        raise BackupError(f"this backup is of a {engine} database, the settings name {_engine()}")
    # Our own connections would hold locks on the tables being replaced.
    connections.close_all()
    if engine == "sqlite":
        source = sqlite3.connect(folder / SQLITE_FILE)
        target = sqlite3.connect(settings.DATABASES["default"]["NAME"])
        with target:
            source.backup(target)
        source.close()
        target.close()
        return
    args, env = _pg_args()
    _run(
        [
            _pg_tool("pg_restore"),
            # Drop what the dump holds before creating it again, in one transaction: a
            # restore that fails half-way leaves the database as it was.
            "--clean",
            "--if-exists",
            "--single-transaction",
            "--exit-on-error",
            # The database's owner here, whoever owned it where the dump was taken.
            "--no-owner",
            "--no-privileges",
            *args,
            f"--dbname={settings.DATABASES['default']['NAME']}",
            str(folder / PG_DUMP_FILE),
        ],
        env,
    )


# The files ----------------------------------------------------------------------------------


def stored_names(storage: Storage, folder: str = "") -> Iterator[str]:
    """Every file name in the storage, folders walked depth first."""
    try:
        directories, files = storage.listdir(folder)
    except FileNotFoundError:
        # MEDIA_ROOT is made by the first upload: none yet, nothing to copy.
        return
    for name in sorted(files):
        yield f"{folder}/{name}" if folder else name
    for directory in sorted(directories):
        yield from stored_names(storage, f"{folder}/{directory}" if folder else directory)


class _Hashing:
    """A reader that hashes what passes through it."""

    closed = False

    def __init__(self, source: IO[bytes]) -> None:
        self.source = source
        self.sha256 = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.sha256.update(data)
        self.size += len(data)
        return data

    def seekable(self) -> bool:
        return False


def dump_media(folder: Path, storage: Storage) -> list[dict[str, object]]:
    files = []
    with tarfile.open(folder / MEDIA_FILE, "w") as tar:
        for name in stored_names(storage):
            with storage.open(name, "rb") as handle:
                info = tarfile.TarInfo(name)
                info.size = handle.size
                info.mode = 0o640
                reader = _Hashing(handle)
                tar.addfile(info, reader)
            if reader.size != info.size:
                raise BackupError(f"{name} changed while it was being copied; run again")
            files.append({"name": name, "size": info.size, "sha256": reader.sha256.hexdigest()})
    return files


def _safe_name(name: str) -> bool:
    path = PurePosixPath(name)
    return bool(name) and not path.is_absolute() and ".." not in path.parts


def restore_media(folder: Path, storage: Storage, expected: list[dict[str, object]]) -> int:
    wanted = {entry["name"]: entry for entry in expected}
    restored = 0
    with tarfile.open(folder / MEDIA_FILE, "r") as tar:
        for member in tar:
            if not member.isfile() or member.name not in wanted or not _safe_name(member.name):
                raise BackupError(
                    f"{MEDIA_FILE} holds {member.name!r}, which the manifest does not"
                )
            source = tar.extractfile(member)
            reader = _Hashing(source)
            content = File(reader, name=member.name)
            content.size = member.size
            # The same name, whatever is there now (a file storage would pick another).
            storage.delete(member.name)
            saved = storage.save(member.name, content)
            entry = wanted[member.name]
            if saved != member.name or reader.sha256.hexdigest() != entry["sha256"]:
                raise BackupError(f"{member.name} did not come back as it was backed up")
            restored += 1
    if restored != len(wanted):
        raise BackupError(f"{MEDIA_FILE} holds {restored} of the {len(wanted)} files listed")
    return restored


# Whole backups ------------------------------------------------------------------------------


@dataclass
class Backup:
    folder: Path
    manifest: dict[str, object]


def media_kind() -> str:
    return "s3" if storages["default"].__class__.__name__.startswith("S3") else "filesystem"


def backup(into: Path, *, say: Callable[[str], None] = lambda line: None) -> Backup:
    storage = storages["default"]
    # A storage that does not answer fails the backup before the dump takes minutes.
    check_media_storage(timeout=10)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    final = into / f"{PREFIX}{stamp}"
    folder = into / f"{PREFIX}{stamp}{PARTIAL}"
    if final.exists():
        raise BackupError(f"{final} exists already")
    folder.mkdir(parents=True)
    try:
        say("dumping the database")
        database_file = dump_database(folder)
        say("copying the media files")
        files = dump_media(folder, storage)
        manifest = {
            "format": FORMAT_VERSION,
            "created_at": timezone.now().isoformat(),
            "database": {"engine": _engine(), "file": database_file},
            "media": {"storage": media_kind(), "file": MEDIA_FILE, "files": files},
        }
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=2))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    folder.rename(final)
    return Backup(final, manifest)


def read_manifest(folder: Path) -> dict[str, object]:
    if folder.name.endswith(PARTIAL):
        raise BackupError(f"{folder} is an unfinished backup")
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except FileNotFoundError:
        raise BackupError(f"{folder} has no {MANIFEST}: not a PosDesk backup") from None
    if manifest.get("format") != FORMAT_VERSION:
        raise BackupError(f"{folder} is a backup of format {manifest.get('format')}")
    return manifest


def restore(
    folder: Path,
    *,
    database: bool = True,
    media: bool = True,
    say: Callable[[str], None] = lambda line: None,
) -> Backup:
    manifest = read_manifest(folder)
    if media:
        check_media_storage(timeout=10)
    if database:
        say("restoring the database")
        restore_database(folder, manifest["database"]["engine"])
    if media:
        say("restoring the media files")
        restore_media(folder, storages["default"], manifest["media"]["files"])
    return Backup(folder, manifest)


def prune(into: Path, keep: int) -> list[Path]:
    """Remove all but the newest `keep` whole backups in `into` (an unfinished one may be
    another run's, still writing: it is left alone)."""
    whole = sorted(
        p for p in into.glob(f"{PREFIX}*") if p.is_dir() and not p.name.endswith(PARTIAL)
    )
    gone = whole[: max(0, len(whole) - keep)]
    for path in gone:
        shutil.rmtree(path)
    return gone
