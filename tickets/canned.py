"""Canned replies: a provider's ready-made texts, filled in for one ticket.

Placeholders are `{merchant}`, `{reference}`, `{hotline}` and `{technician}`, replaced by
plain substitution (never `str.format`, which would let a text reach attributes). A
placeholder outside that list is refused when the text is saved (`unknown_placeholders`).
The text comes in the shop's language (its reporter's, else the site's): the Chinese
version for a shop that reads Chinese when there is one, else the English, and the
other way round.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from django.db.models import QuerySet

from portal.language import language_of
from tickets.models import CannedReply

if TYPE_CHECKING:
    from portal.models import User
    from tickets.models import Ticket

PLACEHOLDERS = ("merchant", "reference", "hotline", "technician")
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def unknown_placeholders(text: str) -> list[str]:
    return sorted({name for name in PLACEHOLDER.findall(text) if name not in PLACEHOLDERS})


def for_provider(provider_id: int) -> QuerySet[CannedReply]:
    return CannedReply.objects.filter(provider_id=provider_id).order_by("title", "id")


def text_for(reply: CannedReply, ticket: Ticket, technician: User) -> str:
    """The reply's text for this ticket, in its shop's language, placeholders filled in."""
    chinese = language_of(ticket.reporter).startswith("zh")
    text = (reply.body_zh_hans if chinese else reply.body) or reply.body or reply.body_zh_hans
    provider = ticket.queue.provider if ticket.queue_id and ticket.queue.provider_id else None
    values = {
        "merchant": ticket.merchant.name,
        "reference": ticket.reference,
        "hotline": provider.hotline if provider else "",
        "technician": technician.get_full_name() or technician.get_username(),
    }
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)
