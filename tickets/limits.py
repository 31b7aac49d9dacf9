"""How much people may send: tickets per shop, messages and files per person.

Each check counts the use in the shared cache (portal.limits) and answers None, or a
`Limited` with the refusal in the reader's language and the seconds to wait; the view
shows it next to the form (with everything typed kept) and answers 429. A use that did
nothing after all (a report sent twice, a refused duplicate) is given back.

The limits come from the environment: RATE_LIMIT_FILING (per merchant),
RATE_LIMIT_REPLIES and RATE_LIMIT_UPLOADS (per user). Replies count every message a
person writes on a ticket (a merchant's reply, a technician's reply, question or note).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils.translation import ngettext

from portal import limits

if TYPE_CHECKING:
    from devices.models import Merchant
    from portal.models import User


@dataclass(frozen=True)
class Limited:
    message: str
    retry_after: int  # seconds, for the Retry-After header


def duration(seconds: int) -> str:
    """`seconds` in words, rounded up: 45 seconds, 3 minutes, 2 hours."""
    if seconds < 60:
        return ngettext("%(n)d second", "%(n)d seconds", seconds) % {"n": seconds}
    if seconds < 3600:
        minutes = math.ceil(seconds / 60)
        return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}
    hours = math.ceil(seconds / 3600)
    return ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours}


def filing(merchant: Merchant) -> Limited | None:
    rate = settings.RATE_LIMIT_FILING
    refusal = limits.use("filing", merchant.pk, rate)
    if refusal is None:
        return None
    count, seconds = rate
    return Limited(
        ngettext(
            "Your shop has filed %(count)d ticket within %(period)s, the most PosDesk "
            "takes. Nothing was filed and what you typed is kept: send it again in "
            "%(wait)s. If a terminal cannot take payments now, call its provider's hotline.",
            "Your shop has filed %(count)d tickets within %(period)s, the most PosDesk "
            "takes. Nothing was filed and what you typed is kept: send it again in "
            "%(wait)s. If a terminal cannot take payments now, call its provider's hotline.",
            count,
        )
        % {"count": count, "period": duration(seconds), "wait": duration(refusal.retry_after)},
        refusal.retry_after,
    )


def give_back_filing(merchant: Merchant) -> None:
    limits.give_back("filing", merchant.pk, settings.RATE_LIMIT_FILING)


def message(user: User) -> Limited | None:
    rate = settings.RATE_LIMIT_REPLIES
    refusal = limits.use("replies", user.pk, rate)
    if refusal is None:
        return None
    count, seconds = rate
    return Limited(
        ngettext(
            "You have written %(count)d message within %(period)s, the most PosDesk "
            "takes. This one was not sent and is kept below: send it again in %(wait)s.",
            "You have written %(count)d messages within %(period)s, the most PosDesk "
            "takes. This one was not sent and is kept below: send it again in %(wait)s.",
            count,
        )
        % {"count": count, "period": duration(seconds), "wait": duration(refusal.retry_after)},
        refusal.retry_after,
    )


def give_back_message(user: User) -> None:
    limits.give_back("replies", user.pk, settings.RATE_LIMIT_REPLIES)


def uploads(user: User, files: int) -> Limited | None:
    rate = settings.RATE_LIMIT_UPLOADS
    refusal = limits.use("uploads", user.pk, rate, amount=files)
    if refusal is None:
        return None
    count, seconds = rate
    return Limited(
        ngettext(
            "You have sent %(count)d file within %(period)s, the most PosDesk takes. "
            "Nothing was sent: choose the files again in %(wait)s.",
            "You have sent %(count)d files within %(period)s, the most PosDesk takes. "
            "Nothing was sent: choose the files again in %(wait)s.",
            count,
        )
        % {"count": count, "period": duration(seconds), "wait": duration(refusal.retry_after)},
        refusal.retry_after,
    )


def give_back_uploads(user: User, files: int) -> None:
    limits.give_back("uploads", user.pk, settings.RATE_LIMIT_UPLOADS, amount=files)


# What a request sends at once: one thing and its files, both allowed or neither counted.


def filing_with_files(merchant: Merchant, user: User, files: int) -> Limited | None:
    limited = filing(merchant)
    if limited is None and files and (limited := uploads(user, files)):
        give_back_filing(merchant)
    return limited


def give_back_filing_with_files(merchant: Merchant, user: User, files: int) -> None:
    give_back_filing(merchant)
    give_back_uploads(user, files)


def message_with_files(user: User, files: int) -> Limited | None:
    limited = message(user)
    if limited is None and files and (limited := uploads(user, files)):
        give_back_message(user)
    return limited
