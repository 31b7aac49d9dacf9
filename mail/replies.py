"""Reply-To addresses that bring a reply to a notification back to its ticket.

Each notification about a ticket carries `reply+<ticket>-<user>-<mac>@MAIL_REPLY_DOMAIN`,
one per ticket and reader: the MAC (HMAC-SHA256 under SECRET_KEY, salted for this
use) proves PosDesk wrote that address for that person and that ticket, so a reply
lands as theirs (mail.inbound). Lower-case hex only: some mail servers lower-case the
local part, and base64 would not survive it. The numbers in it are ids, not secrets;
the MAC is the secret. Changing SECRET_KEY invalidates every address sent before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

SALT = "posdesk.mail.reply"
MAC_LENGTH = 32
# reply+<ticket id>-<user id>-<mac>@domain, anywhere in a header (case-insensitive).
ADDRESS = re.compile(
    r"reply\+(\d{1,12})-(\d{1,12})-([0-9a-f]{" + str(MAC_LENGTH) + r"})@([^\s>,;]+)", re.I
)
# Something that looks like our address, even forged: worth a log line when refused.
LOOKS_LIKE = re.compile(r"reply\+[^\s@<>]*@[^\s>,;]+", re.I)


@dataclass(frozen=True)
class Token:
    ticket_id: int
    user_id: int


def _mac(ticket_id: int, user_id: int) -> str:
    value = f"{ticket_id}-{user_id}"
    return salted_hmac(SALT, value, algorithm="sha256").hexdigest()[:MAC_LENGTH]


def token(ticket_id: int, user_id: int) -> str:
    return f"{ticket_id}-{user_id}-{_mac(ticket_id, user_id)}"


def reply_address(ticket_id: int, user_id: int) -> str:
    """The Reply-To for this reader of this ticket; empty when replies are off."""
    domain = settings.MAIL_REPLY_DOMAIN
    if not domain:
        return ""
    return f"reply+{token(ticket_id, user_id)}@{domain}"


def find(text: str) -> tuple[Token | None, str]:
    """The first valid token in `text` (header values joined) for our domain, and the
    address-like string that was refused (for the log) when none is valid."""
    domain = settings.MAIL_REPLY_DOMAIN.lower()
    refused = ""
    for match in ADDRESS.finditer(text):
        ticket_id, user_id, mac, where = match.groups()
        if domain and where.lower() != domain:
            refused = refused or match.group()
            continue
        if constant_time_compare(mac.lower(), _mac(int(ticket_id), int(user_id))):
            return Token(int(ticket_id), int(user_id)), ""
        refused = refused or match.group()
    if not refused:
        other = LOOKS_LIKE.search(text)
        refused = other.group() if other else ""
    return None, refused
