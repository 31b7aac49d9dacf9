"""Build the report rollups: every day (a first deployment, the bench's seed) or the last N."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandParser

from reports import rollups


class Command(BaseCommand):
    help = "Build the daily report rollups from the tickets."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=0, help="only the last N days (0: all)")

    def handle(self, *args: object, days: int = 0, **options: object) -> None:
        t0 = time.monotonic()
        written = rollups.refresh_recent(days) if days else rollups.build_all()
        self.stdout.write(f"{written} rollup rows in {time.monotonic() - t0:.1f} s")
