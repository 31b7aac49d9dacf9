"""What the shop has to do next on a ticket, or what it is waiting for, in words.

One place for the merchant's home and ticket list, so both say the same thing: a
status alone ("waiting on merchant") does not tell a shop owner whether to answer a
question, decide on a quote or confirm a repair.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from devices.warranty import WarrantyStatus
from tickets.models import Ticket

S = Ticket.Status


@dataclass(frozen=True)
class NextStep:
    code: str
    label: str
    # The shop must act (shown first, highlighted), or it waits for someone else.
    yours: bool


STEPS = {
    "quote": (_("A quote to decide"), True),
    "question": (_("A question for you"), True),
    "confirm": (_("Resolved: please confirm"), True),
    "proof": (_("Send the proof of purchase"), True),
    "routing": (_("Finding who handles it"), False),
    "waiting": (_("Waiting for a technician"), False),
    "repair": (_("In repair"), False),
}


def next_step(ticket: Ticket, *, quote_pending: bool) -> NextStep | None:
    """None once the ticket is closed or withdrawn: nothing left to do."""
    if ticket.status == S.NEW:
        code = "routing"
    elif ticket.status == S.WAITING_MERCHANT:
        code = "quote" if quote_pending else "question"
    elif ticket.status == S.RESOLVED:
        code = "confirm"
    elif ticket.status in (S.QUEUED, S.IN_PROGRESS) and (
        ticket.warranty_status == WarrantyStatus.UNKNOWN
    ):
        code = "proof"
    elif ticket.status == S.IN_PROGRESS:
        code = "repair"
    elif ticket.status == S.QUEUED:
        code = "waiting"
    else:
        return None
    label, yours = STEPS[code]
    return NextStep(code=code, label=str(label), yours=yours)
