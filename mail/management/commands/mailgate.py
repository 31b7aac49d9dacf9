"""`manage.py mailgate`: one raw e-mail on stdin lands as a reply on its ticket.

For an MTA to pipe into, as Request Tracker's rt-mailgate (README: a Postfix alias).
The exit status is a sysexits code the MTA acts on: 0 taken, 67 unknown address and 77
not allowed (the MTA bounces with the line written to stderr), 65 unusable message,
75 try again later (the MTA keeps the message queued and retries).
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand

from mail import inbound


class Command(BaseCommand):
    help = "Read one raw e-mail (MIME) from stdin and add it to its ticket as a reply."

    def add_arguments(self, parser) -> None:  # noqa: ANN001 - argparse's parser
        parser.add_argument(
            "--file", help="Read the message from this file instead of stdin (for testing)."
        )

    def handle(self, *args: object, **options: object) -> None:
        path = options.get("file")
        if path:
            with open(path, "rb") as handle:  # noqa: PTH123 - a path from the command line
                raw = handle.read()
        else:
            raw = sys.stdin.buffer.read()
        outcome = inbound.receive(raw)
        if outcome.accepted or outcome.code == "ignored":
            self.stdout.write(f"{outcome.code}: {outcome.detail}")
        else:
            self.stderr.write(f"PosDesk refused this message ({outcome.code}): {outcome.detail}")
        # SystemExit, not CommandError: the code itself is what the MTA reads.
        sys.exit(outcome.exit_code)
