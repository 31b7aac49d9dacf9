"""Writing e-mails to the outbox, and sending them.

- `compose` renders one e-mail for several people (once, then each copy greeted by
  name) as unsaved rows; `queue` writes them in the caller's transaction with one
  INSERT and asks the `email` queue to send them once it commits.
- `deliver` sends rows now: it claims them, opens one SMTP connection for the batch
  and records each outcome as soon as the server answers.
- `sweep` (beat, every EMAIL_OUTBOX_SWEEP_SECONDS) sends whatever is due: rows whose
  task the broker never delivered, rows whose retry time has come, rows a dead worker
  had claimed.
- `retry_now` and `send_again` are the admin's actions.

Duplicates: a row is claimed by one conditional UPDATE (and, on PostgreSQL, rows being
claimed elsewhere are skipped, not waited for), so two workers or sweeps never send the
same row. Only a worker that dies (or a server that answers after EMAIL_TIMEOUT)
between the server's acceptance and the `sent` mark can leave a row to be sent again,
once its lease ends; that copy carries the same Message-ID, and `attempts` shows it.
"""

from __future__ import annotations

import logging
import smtplib
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import mailers
from django.db import transaction
from django.db.models import Case, F, Q, QuerySet, TextField, Value, When
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.html import escape

from mail.models import OutboundEmail, message_id_for
from portal import broker, claims
from portal.language import language_of

if TYPE_CHECKING:
    from portal.models import User
    from tickets.models import TicketEvent

logger = logging.getLogger(__name__)

Status = OutboundEmail.Status

# Rows one claim takes: one SMTP connection sends them one after the other.
BATCH_SIZE = 50
LOST_WORKER = "The worker sending it stopped before recording the outcome."


# Composing ---------------------------------------------------------------------------------

# Stands in for the recipient's name while a template is rendered once for everyone;
# each copy then gets its own reader's name (escaped in the HTML part). Letters, digits
# and dashes only, so neither autoescaping nor a translation can alter it.
NAME_SLOT = "posdesk-recipient-name-9f3c2a"


def recipient_name(user: User) -> str:
    return user.get_full_name() or user.get_username()


def new_email(
    *,
    key: str,
    kind: str,
    recipient: str,
    subject: str,
    text: str,
    html: str = "",
    language: str = "",
    user: User | None = None,
    event: TicketEvent | None = None,
    resent_from: OutboundEmail | None = None,
    reply_to: str = "",
) -> OutboundEmail:
    """An unsaved row, its Message-ID derived from `key`."""
    return OutboundEmail(
        idempotency_key=key,
        message_id=message_id_for(key),
        kind=kind,
        recipient=recipient,
        subject=subject,
        text=text,
        html=html,
        language=language or translation.get_language() or settings.LANGUAGE_CODE,
        user=user,
        event=event,
        resent_from=resent_from,
        reply_to=reply_to,
    )


def compose(
    template: str,
    recipients: Sequence[User],
    context: dict,
    *,
    directory: str,
    key: str,
    event: TicketEvent | None = None,
    slots: Callable[[User], dict[str, str]] | None = None,
    reply_to: Callable[[User], str] | None = None,
) -> list[OutboundEmail]:
    """Render `<directory>/<template>-{subject,body}.{txt,html}` once per language of the
    recipients (each reads it in their own, portal.language), and return one unsaved row
    per recipient (no one sees another's address), greeted by name. Each row's
    idempotency key is `<key>:<user id>`.

    `slots(user)` gives more per-reader text the same way as the name: placeholders the
    context holds, replaced in each copy (escaped in the HTML part), so a thousand shops
    cost one rendering per language, not a thousand.

    `reply_to(user)`: each reader's own Reply-To (mail.replies), so their answer comes
    back to the ticket as theirs."""
    by_language: dict[str, list[User]] = {}
    for user in recipients:
        by_language.setdefault(language_of(user), []).append(user)
    ctx = {**context, "recipient_name": NAME_SLOT}
    rows = []
    for language, readers in by_language.items():
        with translation.override(language):
            subject = " ".join(render_to_string(f"{directory}/{template}-subject.txt", ctx).split())
            text = render_to_string(f"{directory}/{template}-body.txt", ctx)
            html = render_to_string(f"{directory}/{template}-body.html", ctx)
        for user in readers:
            own = {NAME_SLOT: recipient_name(user), **(slots(user) if slots else {})}
            rows.append(
                new_email(
                    key=f"{key}:{user.pk}",
                    kind=template,
                    recipient=user.email,
                    subject=_fill(subject, own),
                    text=_fill(text, own),
                    html=_fill(html, {slot: escape(value) for slot, value in own.items()}),
                    user=user,
                    event=event,
                    language=language,
                    reply_to=reply_to(user) if reply_to else "",
                )
            )
    return rows


def _fill(text: str, values: dict[str, str]) -> str:
    for slot, value in values.items():
        text = text.replace(slot, value)
    return text


def queue(emails: Sequence[OutboundEmail]) -> list[int]:
    """Write `emails` in the caller's transaction (one INSERT) and send them once it
    commits. Returns their ids. A rolled-back transaction leaves neither row nor task;
    a broker that is down leaves the rows for the sweep."""
    if not emails:
        return []
    ids = [row.pk for row in OutboundEmail.objects.bulk_create(emails, batch_size=2000)]
    collected = _sent_by_caller.get()
    if collected is not None:
        # The calling task sends them itself once it committed (`sent_by_this_task`).
        transaction.on_commit(partial(collected.extend, ids))
    else:
        transaction.on_commit(partial(enqueue_delivery, ids), robust=True)
    return ids


# Set by `sent_by_this_task`: the rows `queue` wrote meanwhile, instead of a task each.
_sent_by_caller: ContextVar[list[int] | None] = ContextVar("sent_by_caller", default=None)


@contextmanager
def sent_by_this_task() -> Iterator[list[int]]:
    """Inside: the e-mails `queue` writes queue no `send_emails` task; the ids of those
    whose transaction committed are collected in the list yielded, for the caller to
    `deliver` after it. A task that writes e-mails (routing) sends them itself: one
    task per filing instead of two (issue 18). A row the caller fails to send stays
    `pending`, and the sweep sends it."""
    collected: list[int] = []
    token = _sent_by_caller.set(collected)
    try:
        yield collected
    finally:
        _sent_by_caller.reset(token)


def enqueue_delivery(ids: list[int]) -> None:
    from mail.tasks import send_emails

    # With the broker down this gives up at once (the rows are saved and the sweep sends
    # them), and the outage is logged once, not once per e-mail (portal.broker).
    broker.publish(send_emails, ids)


# Sending ---------------------------------------------------------------------------------


@dataclass
class Delivery:
    """What one `deliver` call did."""

    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    # The mail server could not be reached or went away: the rest waits for the backoff.
    server_error: str = ""


def backoff(attempts: int) -> timedelta:
    """Wait before the next attempt: base, 2×base, 4×base, ... at most the maximum."""
    base = settings.EMAIL_OUTBOX_BACKOFF_BASE_SECONDS
    ceiling = settings.EMAIL_OUTBOX_BACKOFF_MAX_SECONDS
    return timedelta(seconds=min(ceiling, base * 2 ** max(0, min(attempts - 1, 30))))


def claim(now: datetime, *, ids: Sequence[int] | None = None, limit: int) -> list[OutboundEmail]:
    """Take up to `limit` due rows (of `ids`, when given) for this worker alone
    (portal.claims). A row taken back from a dead worker records that as its failure."""
    lost = Q(status=Status.SENDING)  # due and still `sending`: its worker's lease ran out
    rows = claims.claim(
        OutboundEmail,
        now,
        ids=ids,
        limit=limit,
        lease=timedelta(seconds=settings.EMAIL_OUTBOX_LEASE_SECONDS),
        also={
            "last_error": Case(
                When(lost, then=Value(LOST_WORKER)),
                default=F("last_error"),
                output_field=TextField(),
            ),
            "first_failure_at": Case(
                When(lost & Q(first_failure_at__isnull=True), then=Value(now)),
                default=F("first_failure_at"),
            ),
        },
    )
    return list(rows.order_by("pk"))


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:2000]


def _permanent(error: smtplib.SMTPException) -> bool:
    """A 5xx answer about this one message (no such mailbox, content refused): trying
    again would not help. Anything else may pass."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _message in error.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes)
    return getattr(error, "smtp_code", 0) >= 500


def _record_failure(
    row: OutboundEmail, error: BaseException, now: datetime, *, permanent: bool
) -> str:
    """Back to `pending` after the backoff, or `failed` when it is permanent or has been
    failing for EMAIL_OUTBOX_GIVE_UP. Returns the new status."""
    since = row.first_failure_at or now
    gave_up = permanent or now - since >= settings.EMAIL_OUTBOX_GIVE_UP
    status = Status.FAILED if gave_up else Status.PENDING
    OutboundEmail.objects.filter(pk=row.pk, claim=row.claim, status=Status.SENDING).update(
        status=status,
        claim=None,
        next_attempt_at=now + backoff(row.attempts),
        first_failure_at=since,
        last_error=_describe(error),
    )
    if gave_up:
        logger.warning(
            "e-mail %s to %s failed for good after %d attempt(s): %s",
            row.pk,
            row.recipient,
            row.attempts,
            _describe(error),
        )
    return status


def _record_sent(row: OutboundEmail) -> None:
    # Right after the server's answer, one row at a time: a worker killed in the middle
    # of a batch re-sends none of those already accepted.
    OutboundEmail.objects.filter(pk=row.pk, status=Status.SENDING).update(
        status=Status.SENT, sent_at=timezone.now(), claim=None
    )


def deliver(
    ids: Sequence[int] | None = None, *, now: datetime | None = None, limit: int = BATCH_SIZE
) -> Delivery:
    """Send due rows (of `ids`, when given: a task sends the rows it was queued for)
    over one SMTP connection, recording each outcome."""
    now = now or timezone.now()
    rows = claim(now, ids=ids, limit=len(ids) if ids is not None else limit)
    result = Delivery(claimed=len(rows))
    if not rows:
        return result

    def failed(row: OutboundEmail, error: BaseException, *, permanent: bool = False) -> None:
        if _record_failure(row, error, now, permanent=permanent) == Status.FAILED:
            result.failed += 1
        else:
            result.retrying += 1

    unsent = list(rows)
    try:
        with mailers.default as connection:
            while unsent:
                row = unsent[0]
                try:
                    connection.send_messages([row.as_message()])
                except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError) as error:
                    # The server refused this message; the connection serves the next.
                    unsent.pop(0)
                    failed(row, error, permanent=_permanent(error))
                    continue
                unsent.pop(0)
                _record_sent(row)
                result.sent += 1
    except SoftTimeLimitExceeded:
        # Cut short by Celery: the message in flight may have arrived (its lease brings
        # it back, with the same Message-ID); the others were never tried.
        claims.release(OutboundEmail, unsent[1:], now)
        raise
    except OSError as error:
        # Unreachable, refused, timed out or gone away (smtplib's errors are OSErrors):
        # this message and the rest of the batch wait for their next attempt.
        result.server_error = _describe(error)
        for row in unsent:
            failed(row, error)
    return result


def give_up_stale(now: datetime) -> int:
    """Mark failed what has been failing for EMAIL_OUTBOX_GIVE_UP and is still due
    (e.g. a message that kills every worker that takes it)."""
    return (
        OutboundEmail.objects.due(now)
        .filter(first_failure_at__lte=now - settings.EMAIL_OUTBOX_GIVE_UP)
        .update(status=Status.FAILED, claim=None)
    )


def sweep(*, now: datetime | None = None, clock: Callable[[], float] = time.monotonic) -> dict:
    """Send everything due, batch after batch, until none is left, the mail server
    fails (the backoff decides when to try again), or half the task's soft time limit
    has passed (the next sweep goes on)."""
    budget = settings.CELERY_TASK_SOFT_TIME_LIMIT / 2
    started = clock()
    totals = {"sent": 0, "retrying": 0, "failed": give_up_stale(now or timezone.now())}
    while clock() - started < budget:
        result = deliver(now=now)
        totals["sent"] += result.sent
        totals["retrying"] += result.retrying
        totals["failed"] += result.failed
        if not result.claimed or result.server_error:
            break
    return totals


# The admin's actions -----------------------------------------------------------------------


def retry_now(emails: QuerySet[OutboundEmail]) -> int:
    """Waiting or failed rows: send them now. A failed one starts a new give-up period."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            emails.filter(status__in=[Status.PENDING, Status.FAILED]).values_list("pk", flat=True)
        )
        OutboundEmail.objects.filter(pk__in=ids, status=Status.FAILED).update(
            status=Status.PENDING, first_failure_at=None
        )
        count = OutboundEmail.objects.filter(pk__in=ids, status=Status.PENDING).update(
            next_attempt_at=now
        )
        if ids:
            transaction.on_commit(partial(enqueue_delivery, ids), robust=True)
    return count


def send_again(emails: QuerySet[OutboundEmail]) -> int:
    """Sent rows: send each again as a new row (a new key, so a new Message-ID), which
    keeps its own delivery record and points at the original."""
    copies = []
    for row in emails.filter(status=Status.SENT):
        copy = new_email(
            key=f"again:{uuid.uuid4().hex}",
            kind=row.kind,
            recipient=row.recipient,
            subject=row.subject,
            text=row.text,
            html=row.html,
            language=row.language,
            resent_from=row,
            reply_to=row.reply_to,
        )
        copy.user_id, copy.event_id = row.user_id, row.event_id
        copies.append(copy)
    with transaction.atomic():
        return len(queue(copies))
