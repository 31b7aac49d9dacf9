"""`manage.py backup` (`make backup`): the database and every upload into BACKUP_DIR."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ops.backup import BackupError, backup, prune
from portal.storage import StorageUnavailable


class Command(BaseCommand):
    help = (
        "Back up the database (pg_dump custom format, or a copy of the SQLite file) and "
        "every media file (MEDIA_ROOT or the S3 bucket) into a new folder of BACKUP_DIR."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--into", type=Path, help="the folder to write into (BACKUP_DIR)")
        parser.add_argument(
            "--keep",
            type=int,
            default=0,
            help="then remove all but the newest KEEP backups there (0: remove none)",
        )

    def handle(self, *args: object, into: Path | None, keep: int, **options: object) -> None:
        into = into or Path(settings.BACKUP_DIR)
        if keep < 0:
            raise CommandError("--keep must be 0 (keep all) or more")
        try:
            done = backup(into, say=lambda line: self.stderr.write(f"backup: {line}"))
        except (BackupError, StorageUnavailable) as error:
            raise CommandError(str(error)) from error
        files = done.manifest["media"]["files"]
        size = sum(entry["size"] for entry in files)
        self.stderr.write(f"backup: {len(files)} media files, {size} bytes")
        if keep:
            for gone in prune(into, keep):
                self.stderr.write(f"backup: removed the old {gone.name}")
        # The folder alone on stdout, for a script: `make restore BACKUP=$(...)`.
        self.stdout.write(str(done.folder))
