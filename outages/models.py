"""Outages: one cause that stops many shops, and what a shop does meanwhile.

- `Incident`: a payment host, a carrier's network or a bad update failing for many
  shops of an area, handled by one provider (or acquirer). Detected from tickets
  (outages.detection) or declared by hand (planned maintenance with a start and end).
- `IncidentUpdate`: its timeline. Public entries go to every linked ticket's timeline
  and to each shop by e-mail, once per shop (outages.fanout).
- `IncidentTicket`: which tickets it covers (a ticket belongs to one incident at most).
- `Downtime`: how long a shop could not take card payments, per ticket, for reports.
- `OfflineSale`: sales the shop took another way meanwhile (cash, QR code, a backup
  terminal), to enter or reconcile once the terminal is back.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.validators import refuse_control_characters, refuse_control_characters_in_text
from tickets.models import Category
from tickets.pci import refuse_card_number

if TYPE_CHECKING:
    from devices.models import Merchant

TEXT_VALIDATORS = [refuse_card_number, refuse_control_characters]
# Several lines, as people write them (new lines kept).
LONG_TEXT_VALIDATORS = [refuse_card_number, refuse_control_characters_in_text]


def either_language(obj: models.Model, field: str) -> str:
    """What a technician typed, in the reader's language when they wrote it in that one,
    else in the other: an update written only in Chinese still reaches English readers."""
    from tickets.models import localised

    return localised(obj, field) or getattr(obj, f"{field}_zh_hans")


class IncidentQuerySet(models.QuerySet):
    def open(self) -> IncidentQuerySet:
        return self.exclude(status=Incident.Status.RESOLVED)

    def started(self, now) -> IncidentQuerySet:  # noqa: ANN001 - a datetime
        """Open and under way: planned maintenance that has not begun is not yet news."""
        return self.open().filter(starts_at__lte=now)

    def for_provider(self, provider_id: int) -> IncidentQuerySet:
        return self.filter(provider_id=provider_id)


class Incident(models.Model):
    class Status(models.TextChoices):
        SUSPECTED = "suspected", _("Suspected")
        CONFIRMED = "confirmed", _("Confirmed")
        RESOLVED = "resolved", _("Resolved")

    class Source(models.TextChoices):
        DETECTED = "detected", _("Detected from tickets")
        DECLARED = "declared", _("Declared by a technician")
        MAINTENANCE = "maintenance", _("Planned maintenance")

    provider = models.ForeignKey(
        "devices.Provider",
        on_delete=models.PROTECT,
        related_name="incidents",
        verbose_name=_("handled by"),
        help_text=_("The provider or acquirer whose queues receive the tickets."),
    )
    # The area: a city, a district of it, or everywhere (both empty).
    city = models.CharField(
        _("city"),
        max_length=80,
        blank=True,
        validators=TEXT_VALIDATORS,
        help_text=_("Empty: every city."),
    )
    district = models.CharField(
        _("district"),
        max_length=80,
        blank=True,
        validators=TEXT_VALIDATORS,
        help_text=_("Empty: the whole city."),
    )
    category = models.CharField(_("kind of fault"), max_length=16, choices=Category.choices)
    symptoms = models.JSONField(
        _("symptoms"),
        default=list,
        blank=True,
        help_text=_("Symptom codes it causes; empty: any symptom of the kind."),
    )
    # Detection's key (outages.detection.GROUPS); empty for a declared incident.
    group = models.CharField(_("symptom group"), max_length=32, blank=True, editable=False)
    area_key = models.CharField(max_length=170, blank=True, editable=False)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.SUSPECTED
    )
    source = models.CharField(
        _("source"), max_length=16, choices=Source.choices, default=Source.DECLARED
    )
    # What people read: typed by a technician in one or both languages; a detected
    # incident has none until someone writes it, and is worded from its symptoms.
    summary = models.CharField(
        _("what is wrong (English)"), max_length=200, blank=True, validators=TEXT_VALIDATORS
    )
    summary_zh_hans = models.CharField(
        _("what is wrong (Chinese)"), max_length=200, blank=True, validators=TEXT_VALIDATORS
    )
    starts_at = models.DateTimeField(_("since"), default=timezone.now)
    ends_at = models.DateTimeField(
        _("expected end"),
        null=True,
        blank=True,
        help_text=_("Planned maintenance ends then; for an outage, the estimate if any."),
    )
    next_update_at = models.DateTimeField(_("next update by"), null=True, blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("opened by"),
    )
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    created_at = models.DateTimeField(_("opened"), default=timezone.now)

    objects = IncidentQuerySet.as_manager()

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        ordering = ["-starts_at", "-id"]
        constraints = [
            # Tickets arriving together never open two incidents for one cause: the
            # detector also takes an advisory lock on the key, this is the last word.
            models.UniqueConstraint(
                fields=["provider", "area_key", "group"],
                condition=Q(source="detected") & ~Q(status="resolved"),
                name="incident_one_open_detected_per_cause",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=models.F("starts_at")),
                name="incident_ends_after_start",
            ),
        ]
        indexes = [
            models.Index(
                fields=["provider", "category", "starts_at"],
                condition=~Q(status="resolved"),
                name="incident_open_provider",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("outages:work_incident", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status != self.Status.RESOLVED

    @property
    def title(self) -> str:
        """What is wrong, in the active language: the typed summary, else the symptom."""
        from tickets.models import symptom_label

        typed = either_language(self, "summary")
        if typed:
            return typed
        if len(self.symptoms) == 1:
            return symptom_label(self.category, self.symptoms[0])
        return str(Category(self.category).label) if self.category in Category.values else ""

    @property
    def area(self) -> str:
        if not self.city:
            return str(_("all areas"))
        return f"{self.city} · {self.district}" if self.district else self.city

    def covers_area(self, merchant: Merchant) -> bool:
        """Every city, or the shop's (and its district, or the whole city): the one area
        rule, for the filing warning, "me too" and linking alike."""
        city = " ".join(merchant.city.split()).casefold()
        district = " ".join(merchant.district.split()).casefold()
        return (not self.city or self.city.casefold() == city) and (
            not self.district or self.district.casefold() == district
        )

    def matches_symptom(self, symptom: str) -> bool:
        return not self.symptoms or symptom in self.symptoms


class IncidentUpdate(models.Model):
    """One entry of an incident's timeline. Public ones reach every linked shop."""

    class Kind(models.TextChoices):
        OPENED = "opened", _("Opened")
        CONFIRMED = "confirmed", _("Confirmed")
        UPDATE = "update", _("Update")
        RESOLVED = "resolved", _("Resolved")
        NOTE = "note", _("Internal note")

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="updates", verbose_name=_("incident")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    body = models.TextField(
        _("update (English)"), max_length=2000, blank=True, validators=LONG_TEXT_VALIDATORS
    )
    body_zh_hans = models.TextField(
        _("update (Chinese)"), max_length=2000, blank=True, validators=LONG_TEXT_VALIDATORS
    )
    public = models.BooleanField(_("shown to the shops"), default=True)
    data = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    # Set once the fan-out task has written it to every linked ticket and mailed them.
    fanned_out_at = models.DateTimeField(_("sent to the shops"), null=True, blank=True)
    tickets_reached = models.PositiveIntegerField(_("tickets reached"), default=0)

    class Meta:
        verbose_name = _("incident update")
        verbose_name_plural = _("incident updates")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.incident_id}: {self.get_kind_display()}"

    @property
    def text(self) -> str:
        return either_language(self, "body")


class IncidentTicket(models.Model):
    class Via(models.TextChoices):
        DETECTED = "detected", _("Matched by PosDesk")
        ME_TOO = "me_too", _("The shop said “me too”")

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="links", verbose_name=_("incident")
    )
    ticket = models.OneToOneField(
        "tickets.Ticket",
        on_delete=models.CASCADE,
        related_name="incident_link",
        verbose_name=_("ticket"),
    )
    # Denormalised for "37 shops affected" without a join to the tickets.
    merchant = models.ForeignKey(
        "devices.Merchant", on_delete=models.CASCADE, related_name="+", verbose_name=_("shop")
    )
    via = models.CharField(_("linked"), max_length=16, choices=Via.choices)
    linked_at = models.DateTimeField(_("linked"), default=timezone.now)

    class Meta:
        verbose_name = _("linked ticket")
        verbose_name_plural = _("linked tickets")
        indexes = [models.Index(fields=["incident", "merchant"], name="incident_link_shop")]

    def __str__(self) -> str:
        return f"{self.incident_id} ← {self.ticket_id}"


class Downtime(models.Model):
    """When a shop could not take card payments, for one ticket. Open while `ended_at`
    is empty; it ends when the shop says payments work again or the ticket is over."""

    class End(models.TextChoices):
        MERCHANT = "merchant", _("The shop takes payments again")
        RESOLVED = "resolved", _("The ticket was resolved")
        CLOSED = "closed", _("The ticket was closed")
        CANCELLED = "cancelled", _("The ticket was withdrawn")

    ticket = models.OneToOneField(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="downtime"
    )
    # Copied at filing, for reports by provider, model and area (they do not move later).
    merchant = models.ForeignKey("devices.Merchant", on_delete=models.CASCADE, related_name="+")
    provider = models.ForeignKey("devices.Provider", on_delete=models.PROTECT, related_name="+")
    device_model = models.ForeignKey(
        "devices.DeviceModel", on_delete=models.PROTECT, related_name="+"
    )
    city = models.CharField(max_length=80, blank=True)
    started_at = models.DateTimeField(_("could not take payments since"))
    ended_at = models.DateTimeField(_("taking payments again"), null=True, blank=True)
    ended_how = models.CharField(_("ended"), max_length=16, choices=End.choices, blank=True)

    class Meta:
        verbose_name = _("downtime")
        verbose_name_plural = _("downtimes")
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("started_at")),
                name="downtime_ends_after_start",
            ),
        ]
        indexes = [models.Index(fields=["provider", "started_at"], name="downtime_provider")]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.ended_at is None

    def duration(self, now=None):  # noqa: ANN001, ANN201 - datetime, timedelta
        return (self.ended_at or now or timezone.now()) - self.started_at


class OfflineSale(models.Model):
    """A sale taken another way while the terminal was down."""

    class Method(models.TextChoices):
        CASH = "cash", _("Cash")
        QR = "qr", _("QR code")
        BACKUP = "backup_terminal", _("Backup terminal")
        OTHER = "other", _("Other")

    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="offline_sales"
    )
    sold_at = models.DateTimeField(_("time"))
    amount = models.DecimalField(
        _("amount (CNY)"),
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    method = models.CharField(_("paid by"), max_length=16, choices=Method.choices)
    note = models.CharField(_("note"), max_length=200, blank=True, validators=TEXT_VALIDATORS)
    card_last4 = models.CharField(
        _("card's last four digits"), max_length=4, blank=True, validators=TEXT_VALIDATORS
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("logged"), default=timezone.now)

    class Meta:
        verbose_name = _("offline sale")
        verbose_name_plural = _("offline sales")
        ordering = ["sold_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(card_last4="") | Q(card_last4__regex=r"^[0-9]{4}$"),
                name="offline_sale_card_last4_digits",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="offline_sale_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.amount} {self.method}"
