"""Webhooks: a provider's endpoints and every delivery made to them.

An `Endpoint` belongs to one provider and lists the events it wants. A `Delivery` is
written in the transaction of what it tells of (a ticket event, an incident opened),
like the e-mail outbox (`mail.models`): a broker that is down loses nothing, the sweep
sends it later. Each HTTP try is a `DeliveryAttempt`, the delivery log managers read.

Life of a delivery: `pending` → `sending` (claimed by one worker until
`next_attempt_at`, its lease) → `delivered`; or back to `pending` with a later
`next_attempt_at` after a failure; or `failed` once it has failed for
WEBHOOKS_GIVE_UP. A manager's "redeliver" makes any of them `pending` again, now.
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.validators import refuse_control_characters
from tickets.pci import refuse_card_number


def new_secret() -> str:
    return "whsec_" + secrets.token_hex(24)


class Event(models.TextChoices):
    """What an endpoint may subscribe to. The value is the `event` field of the JSON."""

    TICKET_ROUTED = "ticket.routed", _("Ticket routed")
    MERCHANT_REPLIED = "ticket.merchant_replied", _("Merchant replied")
    QUOTE_DECIDED = "ticket.quote_decided", _("Quote accepted or declined")
    TICKET_RESOLVED = "ticket.resolved", _("Ticket resolved")
    TICKET_REOPENED = "ticket.reopened", _("Ticket reopened")
    SLA_BREACHED = "ticket.sla_breached", _("SLA breached")
    INCIDENT_OPENED = "incident.opened", _("Incident opened")


class Endpoint(models.Model):
    """A URL of a provider's own system that receives the events it chose."""

    provider = models.ForeignKey(
        "devices.Provider",
        on_delete=models.CASCADE,
        related_name="webhook_endpoints",
        verbose_name=_("provider"),
    )
    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(
        _("description"),
        max_length=120,
        blank=True,
        validators=[refuse_card_number, refuse_control_characters],
    )
    # A list of Event values; never empty (the form refuses it).
    events = models.JSONField(_("events"), default=list)
    # In clear: signing needs it. Shown to the manager once, when made or replaced.
    secret = models.CharField(_("secret"), max_length=80, default=new_secret, editable=False)
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    secret_rotated_at = models.DateTimeField(_("secret replaced"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "url"], name="webhook_endpoint_one_per_url"
            ),
        ]
        indexes = [
            # Writing deliveries for an event: the active endpoints of one provider.
            models.Index(
                fields=["provider"], condition=Q(active=True), name="webhook_endpoint_active"
            ),
        ]

    def __str__(self) -> str:
        return self.url

    def get_absolute_url(self) -> str:
        return reverse("webhooks:endpoint", args=[self.pk])

    def wants(self, event: str) -> bool:
        return self.active and event in (self.events or [])


class DeliveryQuerySet(models.QuerySet):
    def due(self, now) -> DeliveryQuerySet:  # noqa: ANN001 - a datetime
        """Waiting rows whose next attempt has come, and rows whose worker's lease ran out."""
        return self.filter(
            status__in=[Delivery.Status.PENDING, Delivery.Status.SENDING],
            next_attempt_at__lte=now,
        )


class Delivery(models.Model):
    """One event for one endpoint, with its JSON body as first written."""

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting")
        SENDING = "sending", _("being sent")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("failed")

    # The receiver's idempotency key: the same on every attempt and redelivery.
    uuid = models.UUIDField(_("delivery id"), default=uuid.uuid4, editable=False, unique=True)
    endpoint = models.ForeignKey(
        Endpoint, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("endpoint")
    )
    event = models.CharField(_("event"), max_length=40, choices=Event.choices)
    # What it tells of ("ticket_event:<id>", "incident:<id>"): one delivery per endpoint,
    # even when the signal runs twice.
    source = models.CharField(_("source"), max_length=60)
    body = models.TextField(_("body"))

    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    # Pending: not before then. Sending: the claiming worker's lease ends then.
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    claim = models.UUIDField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    first_failure_at = models.DateTimeField(_("failing since"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("last status"), null=True, blank=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "source", "event"], name="webhook_delivery_one_per_source"
            ),
        ]
        indexes = [
            # The sweep: `due(now)`, oldest first; only unfinished rows.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "sending"]),
                name="webhook_delivery_due",
            ),
            # The delivery log of one endpoint, newest first.
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_log"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint}"


class DeliveryAttempt(models.Model):
    """One HTTP request of a delivery and what came back."""

    delivery = models.ForeignKey(
        Delivery, on_delete=models.CASCADE, related_name="tries", verbose_name=_("delivery")
    )
    at = models.DateTimeField(_("time"), default=timezone.now)
    status_code = models.PositiveSmallIntegerField(_("status"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(_("time taken (ms)"), default=0)
    # The first WEBHOOKS_RESPONSE_EXCERPT characters the endpoint answered.
    response = models.TextField(_("response"), blank=True)
    # Why no answer counted: refused address, timeout, connection error.
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ["-at", "-pk"]
        indexes = [
            # A delivery's attempts, newest first.
            models.Index(fields=["delivery", "-at"], name="webhook_attempt_of_delivery"),
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.at:%Y-%m-%d %H:%M:%S} {self.status_code or self.error}"

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
