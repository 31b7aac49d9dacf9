"""`tickets.events.record` is the only writer of the timeline: a module that creates
`TicketEvent` rows itself would skip the provider stamp and the e-mails."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("portal", "devices", "tickets")
WRITES = re.compile(r"TicketEvent(\.objects\.(create|bulk_create|get_or_create)|\()")


def test_only_the_event_writer_creates_ticket_events() -> None:
    offenders = []
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            relative = path.relative_to(ROOT).as_posix()
            if "/tests/" in relative or "/migrations/" in relative:
                continue
            if relative == "tickets/events.py":
                continue
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                if WRITES.search(line) and "class TicketEvent(" not in line:
                    offenders.append(f"{relative}:{number}: {line.strip()}")
    assert offenders == []


def test_the_event_writer_itself_is_found_by_the_check() -> None:
    text = (ROOT / "tickets" / "events.py").read_text()
    assert WRITES.search(text)
