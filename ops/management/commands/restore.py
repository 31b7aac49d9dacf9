"""`manage.py restore FOLDER` (`make restore BACKUP=FOLDER`): a backup back in place."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ops.backup import BackupError, read_manifest, restore
from portal.storage import StorageUnavailable


class Command(BaseCommand):
    help = (
        "Restore a folder written by `manage.py backup`: the database (its tables are "
        "replaced by the backup's, in one transaction) and every media file (written "
        "again under its name). Stop the web, worker and beat processes first."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", type=Path)
        parser.add_argument("--no-database", action="store_true", help="restore the files only")
        parser.add_argument("--no-media", action="store_true", help="restore the database only")
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="do not ask for confirmation",
        )

    def handle(
        self,
        *args: object,
        folder: Path,
        no_database: bool,
        no_media: bool,
        interactive: bool,
        **options: object,
    ) -> None:
        try:
            manifest = read_manifest(folder)
        except BackupError as error:
            raise CommandError(str(error)) from error
        if interactive:
            answer = input(
                f"This replaces the database and media files with the backup of "
                f"{manifest['created_at']}. Type 'yes' to go on: "
            )
            if answer.strip().lower() != "yes":
                raise CommandError("Restore cancelled.")
        try:
            restore(
                folder,
                database=not no_database,
                media=not no_media,
                say=lambda line: self.stderr.write(f"restore: {line}"),
            )
        except (BackupError, StorageUnavailable) as error:
            raise CommandError(str(error)) from error
        self.stderr.write(f"restore: {folder.name} is back")
