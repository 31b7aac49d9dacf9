"""E-mail about ticket events. Placeholder: the notification tasks are being built."""

from __future__ import annotations

from tickets.models import TicketEvent


def announce_event(event: TicketEvent) -> None:
    """Called inside the transaction that wrote `event`; sends nothing yet."""
