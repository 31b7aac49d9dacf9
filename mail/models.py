"""The e-mail outbox: every e-mail PosDesk sends is first a row here.

A row is written in the same transaction as what it tells of (a ticket event, a
warranty reminder), so a broker or mail server that is down loses nothing: the row
exists whatever happens after the commit. `mail.services` sends rows, retries them
with backoff and, after failing for EMAIL_OUTBOX_GIVE_UP, marks them failed for an
admin to see. None is ever deleted by PosDesk.

Life of a row: `pending` → `sending` (claimed by one worker, until `next_attempt_at`,
its lease) → `sent`; or back to `pending` with a later `next_attempt_at` after a
failure; or `failed`. A `sending` row whose lease ran out belonged to a worker that
died: the next sweep takes it again, and its `attempts` show it.
"""

from __future__ import annotations

import hashlib
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def message_id_for(key: str) -> str:
    """The Message-ID of every attempt at the e-mail with this idempotency key: the
    same on a re-send, so a receiving server (or a person) can tell it is a copy."""
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "posdesk.local"
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    return f"<{digest}.outbox@{domain}>"


class OutboundEmailQuerySet(models.QuerySet):
    def due(self, now) -> OutboundEmailQuerySet:  # noqa: ANN001 - a datetime
        """Waiting rows whose next attempt has come, and rows whose sender's lease ran
        out (it died or hung after claiming them)."""
        return self.filter(
            status__in=[OutboundEmail.Status.PENDING, OutboundEmail.Status.SENDING],
            next_attempt_at__lte=now,
        )


class OutboundEmail(models.Model):
    """One e-mail to one person, with its delivery record."""

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting to be sent")
        SENDING = "sending", _("being sent")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")

    # What it is and who it is for.
    idempotency_key = models.CharField(
        _("idempotency key"),
        max_length=200,
        help_text=_("One e-mail per key: the same event or reminder never writes two."),
    )
    message_id = models.CharField(_("Message-ID"), max_length=255, editable=False)
    kind = models.CharField(_("kind"), max_length=40)
    event = models.ForeignKey(
        "tickets.TicketEvent",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="emails",
        verbose_name=_("ticket event"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    recipient = models.EmailField(_("recipient"), max_length=254)
    language = models.CharField(_("language"), max_length=16)
    subject = models.TextField(_("subject"))
    text = models.TextField(_("text"))
    html = models.TextField(_("HTML"), blank=True)
    # A ticket's notification: the address that brings a reply back to it as this
    # reader's reply (mail.replies). Empty: replies go nowhere.
    reply_to = models.CharField(_("Reply-To"), max_length=254, blank=True)
    resent_from = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("copy of"),
    )

    # Its delivery.
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    # Pending: not before then. Sending: the claiming worker's lease ends then.
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    # Set by each claim: the claiming worker finds its own rows by it.
    claim = models.UUIDField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    first_failure_at = models.DateTimeField(_("failing since"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    objects = OutboundEmailQuerySet.as_manager()

    class Meta:
        verbose_name = _("outbound e-mail")
        verbose_name_plural = _("outbound e-mails")
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], name="outbound_email_one_per_key"),
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False),
                name="outbound_email_sent_has_time",
            ),
        ]
        indexes = [
            # The sweep: `due(now)`, oldest first. Only unfinished rows, so the index
            # stays small however many e-mails were sent over the years.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "sending"]),
                name="outbound_email_due",
            ),
            # The admin's list filtered by status, newest first (and the count of
            # failed ones it shows on top).
            models.Index(fields=["status", "-created_at"], name="outbound_email_status"),
        ]

    def __str__(self) -> str:
        return f"{self.recipient}: {self.subject}"

    def as_message(self) -> EmailMultiAlternatives:
        message = EmailMultiAlternatives(
            self.subject,
            self.text,
            to=[self.recipient],
            headers={"Message-ID": self.message_id},
            reply_to=[self.reply_to] if self.reply_to else None,
        )
        if self.html:
            message.attach_alternative(self.html, "text/html")
        return message
