from __future__ import annotations

import uuid
from datetime import time
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from devices.warranty import WarrantyCheck, WarrantyStatus, warranty_label
from portal.validators import (
    refuse_control_characters,
    refuse_control_characters_in_text,
    validate_payment_time,
    validate_serial,
)
from tickets.pci import refuse_card_number


class Category(models.TextChoices):
    HARDWARE = "hardware", _("Hardware")
    SOFTWARE = "software", _("Software")
    NETWORK = "network", _("Network")
    TRANSACTION = "transaction", _("Transaction / payment")
    OTHER = "other", _("Other")


# The symptom list shown for each category. Codes are stored; labels are translated.
SYMPTOMS: dict[str, list[tuple[str, str]]] = {
    Category.HARDWARE: [
        ("screen", _("Screen dead, dark or broken")),
        ("keypad", _("Keypad not responding")),
        ("printer", _("Printer jams or does not print")),
        ("card_reader", _("Card reader (chip, swipe or contactless)")),
        ("battery", _("Battery does not charge or hold")),
        ("power", _("Does not power on")),
        ("other", _("Other hardware fault")),
    ],
    Category.SOFTWARE: [
        ("frozen", _("Frozen or stuck on a screen")),
        ("slow", _("Very slow")),
        ("error_code", _("Shows an error code")),
        ("update", _("Update failed")),
        ("login", _("Cannot sign in / operator locked")),
        ("other", _("Other software fault")),
    ],
    Category.NETWORK: [
        ("wifi", _("Wi-Fi does not connect")),
        ("cable", _("Cable (Ethernet) does not connect")),
        ("mobile", _("SIM / mobile data does not connect")),
        ("host", _("Connected, but cannot reach the payment host")),
        ("other", _("Other network fault")),
    ],
    Category.TRANSACTION: [
        ("charged_not_completed", _("Card charged but payment not completed")),
        ("cancelled", _("Payment cancelled or reversed")),
        ("refund", _("Refund problem")),
        ("fees", _("Wrong fees or settlement")),
        ("other", _("Other payment problem")),
    ],
    Category.OTHER: [
        ("other", _("Something else")),
    ],
}


def choice_labels(choices: list[tuple[Any, Any]]) -> dict[Any, str]:
    """Code -> label in the active language, for a list to look up once per page:
    `get_*_display` per row rebuilds and hashes the field's choices on every call."""
    return {value: str(label) for value, label in choices}


def symptom_label(category: str, code: str) -> str:
    for value, label in SYMPTOMS.get(category, []):
        if value == code:
            return str(label)
    return code


class Priority(models.IntegerChoices):
    P1 = 1, _("P1 · cannot take payments")
    P2 = 2, _("P2 · degraded")
    P3 = 3, _("P3 · can still take payments")


WEEKDAYS = (
    ("mon", _("Monday")),
    ("tue", _("Tuesday")),
    ("wed", _("Wednesday")),
    ("thu", _("Thursday")),
    ("fri", _("Friday")),
    ("sat", _("Saturday")),
    ("sun", _("Sunday")),
)


class BusinessCalendar(models.Model):
    """When a queue's SLA clock runs: weekly hours and holidays (tickets.calendars), or
    round the clock for providers with 24-hour support."""

    name = models.CharField(
        _("name"), max_length=120, validators=[refuse_card_number, refuse_control_characters]
    )
    always_open = models.BooleanField(
        _("24 hours, every day"),
        default=False,
        help_text=_("Round-the-clock support: the hours and holidays below are not used."),
    )
    # Each weekday's one open span; both empty: closed that day.
    mon_opens = models.TimeField(_("Monday opens"), null=True, blank=True)
    mon_closes = models.TimeField(_("Monday closes"), null=True, blank=True)
    tue_opens = models.TimeField(_("Tuesday opens"), null=True, blank=True)
    tue_closes = models.TimeField(_("Tuesday closes"), null=True, blank=True)
    wed_opens = models.TimeField(_("Wednesday opens"), null=True, blank=True)
    wed_closes = models.TimeField(_("Wednesday closes"), null=True, blank=True)
    thu_opens = models.TimeField(_("Thursday opens"), null=True, blank=True)
    thu_closes = models.TimeField(_("Thursday closes"), null=True, blank=True)
    fri_opens = models.TimeField(_("Friday opens"), null=True, blank=True)
    fri_closes = models.TimeField(_("Friday closes"), null=True, blank=True)
    sat_opens = models.TimeField(_("Saturday opens"), null=True, blank=True)
    sat_closes = models.TimeField(_("Saturday closes"), null=True, blank=True)
    sun_opens = models.TimeField(_("Sunday opens"), null=True, blank=True)
    sun_closes = models.TimeField(_("Sunday closes"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def week(self) -> tuple[tuple[time, time] | None, ...]:
        days = []
        for code, _label in WEEKDAYS:
            opens, closes = getattr(self, f"{code}_opens"), getattr(self, f"{code}_closes")
            days.append((opens, closes) if opens is not None and closes is not None else None)
        return tuple(days)

    def clean(self) -> None:
        errors = {}
        for code, _label in WEEKDAYS:
            opens, closes = getattr(self, f"{code}_opens"), getattr(self, f"{code}_closes")
            if (opens is None) != (closes is None):
                errors[f"{code}_closes"] = _("Give both the opening and the closing time, or none.")
            elif opens is not None and closes <= opens:
                errors[f"{code}_closes"] = _("Closing must be after opening, on the same day.")
        if not self.always_open and all(day is None for day in self.week()) and not errors:
            errors["always_open"] = _("Give some open hours, or tick 24 hours.")
        if errors:
            raise ValidationError(errors)


class Holiday(models.Model):
    calendar = models.ForeignKey(
        BusinessCalendar,
        on_delete=models.CASCADE,
        related_name="holidays",
        verbose_name=_("calendar"),
    )
    date = models.DateField(_("date"))
    name = models.CharField(
        _("name"),
        max_length=120,
        blank=True,
        validators=[refuse_card_number, refuse_control_characters],
    )

    class Meta:
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="holiday_once_per_calendar")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}".strip()


class Queue(models.Model):
    """An after-sales queue of one provider, or the platform's triage queue."""

    class Kind(models.TextChoices):
        WARRANTY_REPAIR = "warranty_repair", _("Warranty repair")
        PAID_REPAIR = "paid_repair", _("Paid repair")
        REMOTE_SUPPORT = "remote_support", _("Remote support")
        TRANSACTION_SUPPORT = "transaction_support", _("Transaction support")
        TRIAGE = "triage", _("Triage")

    provider = models.ForeignKey(
        "devices.Provider",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="queues",
        verbose_name=_("provider"),
        help_text=_("Empty for the platform triage queue."),
    )
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    name = models.CharField(
        _("name"), max_length=120, validators=[refuse_card_number, refuse_control_characters]
    )
    active = models.BooleanField(_("active"), default=True)
    calendar = models.ForeignKey(
        BusinessCalendar,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="queues",
        verbose_name=_("business hours"),
        help_text=_("SLA clocks count only its open hours. Empty: every minute counts."),
    )

    class Assignment(models.TextChoices):
        OFF = "off", _("Off: technicians claim tickets")
        ROUND_ROBIN = "round_robin", _("Round-robin among those on duty")
        FEWEST_OPEN = "fewest_open", _("To whoever on duty has the fewest open tickets")

    assignment = models.CharField(
        _("automatic assignment"), max_length=16, choices=Assignment.choices, default="off"
    )
    p1_reassign_minutes = models.PositiveSmallIntegerField(
        _("reassign an untouched P1 after (minutes)"),
        null=True,
        blank=True,
        help_text=_(
            "An automatically assigned P1 ticket that its technician has not answered "
            "within this time goes to the next one on duty. Empty: never."
        ),
    )
    # Round-robin's place: who was given the last ticket (tickets.assignment).
    last_assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    # SLA targets in minutes, per priority (of open time, with a calendar).
    first_response_p1 = models.PositiveIntegerField(_("first response P1 (min)"), default=60)
    first_response_p2 = models.PositiveIntegerField(_("first response P2 (min)"), default=240)
    first_response_p3 = models.PositiveIntegerField(_("first response P3 (min)"), default=480)
    resolution_p1 = models.PositiveIntegerField(_("resolution P1 (min)"), default=8 * 60)
    resolution_p2 = models.PositiveIntegerField(_("resolution P2 (min)"), default=24 * 60)
    resolution_p3 = models.PositiveIntegerField(_("resolution P3 (min)"), default=72 * 60)

    # Admin changes to queues and their SLA targets, with who made them.
    history = HistoricalRecords(excluded_fields=["last_assigned_to"])

    class Meta:
        verbose_name = _("queue")
        verbose_name_plural = _("queues")
        ordering = ["provider__name", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "kind"],
                condition=Q(provider__isnull=False),
                name="queue_one_kind_per_provider",
            ),
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(provider__isnull=True),
                name="queue_one_platform_queue_per_kind",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def first_response_minutes(self, priority: int) -> int:
        return getattr(self, f"first_response_p{priority}")

    def resolution_minutes(self, priority: int) -> int:
        return getattr(self, f"resolution_p{priority}")

    def hours(self):  # noqa: ANN201 - tickets.calendars.Hours | None
        """The open hours SLA clocks count (None: every minute), read once per queue."""
        from tickets.calendars import Hours

        if self.calendar_id is None:
            return None
        if not hasattr(self, "_hours"):
            self._hours = Hours.of(self.calendar)
        return self._hours


class RoutingRule(models.Model):
    """One row of the routing table; rules are tried by `order`, first match wins."""

    class Party(models.TextChoices):
        PROVIDER = "provider", _("The device's service provider")
        ACQUIRER = "acquirer", _("The device's acquirer")
        PLATFORM = "platform", _("The platform")

    order = models.PositiveIntegerField(_("order"), default=100)
    name = models.CharField(
        _("name"), max_length=120, validators=[refuse_card_number, refuse_control_characters]
    )
    category = models.CharField(
        _("category"),
        max_length=16,
        choices=Category.choices,
        blank=True,
        help_text=_("Empty matches any category."),
    )
    warranty = models.CharField(
        _("warranty status"),
        max_length=8,
        choices=WarrantyStatus.choices,
        blank=True,
        help_text=_("Empty matches any warranty status."),
    )
    provider = models.ForeignKey(
        "devices.Provider",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="routing_rules",
        verbose_name=_("only for provider"),
        help_text=_("Empty matches devices of any provider."),
    )
    target_party = models.CharField(
        _("route to"), max_length=16, choices=Party.choices, default=Party.PROVIDER
    )
    target_kind = models.CharField(_("queue kind"), max_length=32, choices=Queue.Kind.choices)
    billable = models.BooleanField(
        _("billable"),
        null=True,
        blank=True,
        help_text=_("Empty: decided in the target queue."),
    )
    active = models.BooleanField(_("active"), default=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name


def _new_submission_token() -> uuid.UUID:
    return uuid.uuid4()


class TicketQuerySet(models.QuerySet):
    OPEN_STATUSES = ("new", "queued", "in_progress", "waiting_merchant")

    def visible_to(self, user) -> TicketQuerySet:  # noqa: ANN001
        """Tickets `user` may see: a merchant's own, a technician's provider's queues."""
        if not user.is_authenticated:
            return self.none()
        if user.is_staff:
            return self.all()
        merchant = user.merchant
        if merchant is not None:
            return self.filter(merchant=merchant)
        provider = user.provider
        if provider is not None:
            return self.filter(queue__provider=provider)
        return self.none()

    def open(self) -> TicketQuerySet:
        return self.filter(status__in=self.OPEN_STATUSES)

    # Open tickets as technicians see them: routed, so never `new`. Exactly the condition
    # of the partial index `ticket_open_queue_due`, so PostgreSQL can use it.
    WORK_STATUSES = ("queued", "in_progress", "waiting_merchant")

    def in_work(self) -> TicketQuerySet:
        return self.filter(status__in=self.WORK_STATUSES)

    # SLA (technician workspace). While a ticket waits on the merchant its due times are
    # frozen and pushed back by the pause on resume, so a paused ticket is late only if
    # its due time had already passed when the pause began.

    @staticmethod
    def first_response_late_q(now, prefix: str = "") -> Q:  # noqa: ANN001
        """Tickets whose first response is overdue at `now`; `prefix` for a join."""
        p = prefix
        return Q(**{f"{p}first_responded_at__isnull": True, f"{p}first_response_due__lt": now}) & (
            Q(**{f"{p}sla_paused_at__isnull": True})
            | Q(**{f"{p}first_response_due__lt": models.F(f"{p}sla_paused_at")})
        )

    @staticmethod
    def resolution_late_q(now, prefix: str = "") -> Q:  # noqa: ANN001
        """Tickets whose resolution is overdue at `now`; `prefix` for a join."""
        p = prefix
        return Q(**{f"{p}resolution_due__lt": now}) & (
            Q(**{f"{p}sla_paused_at__isnull": True})
            | Q(**{f"{p}resolution_due__lt": models.F(f"{p}sla_paused_at")})
        )

    @classmethod
    def overdue_q(cls, now, prefix: str = "") -> Q:  # noqa: ANN001
        return Q(**{f"{prefix}status__in": cls.WORK_STATUSES}) & (
            cls.first_response_late_q(now, prefix) | cls.resolution_late_q(now, prefix)
        )

    def overdue(self, now) -> TicketQuerySet:  # noqa: ANN001
        """Open tickets past a first-response or resolution due time at `now`."""
        return self.filter(self.overdue_q(now))

    def with_sla_due(self, now) -> TicketQuerySet:  # noqa: ANN001
        """Annotate `sla_due`: the next deadline as it stands at `now` (the first response
        until there is one, then the resolution). A paused ticket's deadline moves with
        the clock, so it sorts by the time it has left, and `sla_due < now` is exactly
        `overdue(now)` for open tickets."""
        f = models.F
        due = models.Case(
            models.When(
                first_responded_at__isnull=True,
                first_response_due__lt=f("resolution_due"),
                then=f("first_response_due"),
            ),
            default=f("resolution_due"),
            output_field=models.DateTimeField(),
        )
        paused_for = models.ExpressionWrapper(
            models.Value(now, output_field=models.DateTimeField()) - f("sla_paused_at"),
            output_field=models.DurationField(),
        )
        return self.annotate(
            sla_due=models.Case(
                models.When(
                    sla_paused_at__isnull=False,
                    then=models.ExpressionWrapper(
                        due + paused_for, output_field=models.DateTimeField()
                    ),
                ),
                default=due,
                output_field=models.DateTimeField(),
            )
        )

    def most_urgent_first(self, now) -> TicketQuerySet:  # noqa: ANN001
        """Overdue first, then by the time left; tickets with no deadline last."""
        return self.with_sla_due(now).order_by(
            models.F("sla_due").asc(nulls_last=True), "priority", "created_at", "id"
        )

    def for_work_list(self) -> TicketQuerySet:
        """What a technician's list shows on each row, fetched with the rows."""
        return self.select_related("device__model__brand", "merchant", "assigned_to", "queue")

    def page_rows(self, start: int, count: int) -> list[Ticket]:
        """Rows `start` to `start + count` of this ordered list, fetched in two steps.

        The ordering runs over primary keys alone (an index-only scan of
        `ticket_open_queue_sla` for a queue's open tickets), then only the page's rows
        are read with their joins. In a busy queue at a million tickets, joining every
        open row before sorting was most of the queue page's time (bench/RESULTS.md).
        """
        ids = list(self.values_list("pk", flat=True)[start : start + count])
        if not ids:
            return []
        return list(self.filter(pk__in=ids))


class ReferenceField(models.CharField):
    """A ticket's reference: filled by the database at INSERT (PostgreSQL, a trigger
    from the primary key, migration tickets 0020) and read back with the INSERT's
    RETURNING, so filing writes the ticket in one statement instead of INSERT + UPDATE.
    A plain CharField to migrations."""

    @property
    def db_returning(self) -> bool:
        return True

    def deconstruct(self) -> tuple:
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.CharField", args, kwargs


class Ticket(models.Model):
    class Status(models.TextChoices):
        NEW = "new", _("New")
        QUEUED = "queued", _("Queued")
        IN_PROGRESS = "in_progress", _("In progress")
        WAITING_MERCHANT = "waiting_merchant", _("Waiting on merchant")
        RESOLVED = "resolved", _("Resolved")
        CLOSED = "closed", _("Closed")
        CANCELLED = "cancelled", _("Cancelled")

    class Payments(models.TextChoices):
        NO = "no", _("No, the shop cannot take card payments")
        DEGRADED = "degraded", _("Partly (some cards or methods fail)")
        YES = "yes", _("Yes, payments still work")

    class Resolution(models.TextChoices):
        REMOTE_FIX = "remote_fix", _("Remote fix")
        ON_SITE = "on_site", _("Repaired on site")
        REPAIR_CENTRE = "repair_centre", _("Repaired at repair centre")
        REPLACED = "replaced", _("Replaced")
        NO_FAULT = "no_fault", _("No fault found")
        NOT_COVERED = "not_covered", _("Not covered")
        # Set only by an incident's resolution (outages), for all its tickets at once.
        INCIDENT_OVER = "incident_over", _("Known problem fixed")

    class CancelReason(models.TextChoices):
        """Why the shop withdrew it: the code is kept in the `cancelled` event's data and
        worded when read (tickets.event_text); `cancel_reason` holds only what was typed."""

        RESTART = "restart", _("A restart fixed it")
        SELF_HELP = "self_help", _("Fixed by the first-line checks")
        MISTAKE = "mistake", _("Filed by mistake")
        OTHER = "other", _("Other")

    # Written by the database in the INSERT (trigger of migration 0020, on PostgreSQL)
    # and returned by it: no second statement per filing.
    reference = ReferenceField(
        _("reference"), max_length=16, unique=True, null=True, editable=False
    )
    merchant = models.ForeignKey(
        "devices.Merchant",
        on_delete=models.PROTECT,
        related_name="tickets",
        verbose_name=_("merchant"),
    )
    device = models.ForeignKey(
        "devices.Device",
        on_delete=models.PROTECT,
        related_name="tickets",
        verbose_name=_("terminal"),
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="reported_tickets",
        verbose_name=_("reporter"),
    )
    submission_token = models.UUIDField(default=_new_submission_token, editable=False)

    category = models.CharField(_("kind of fault"), max_length=16, choices=Category.choices)
    symptom = models.CharField(
        _("symptom"), max_length=32, validators=[refuse_card_number, refuse_control_characters]
    )
    error_code = models.CharField(
        _("error code on the screen"),
        max_length=32,
        blank=True,
        validators=[refuse_card_number, refuse_control_characters],
    )
    can_take_payments = models.CharField(
        _("can you still take payments?"), max_length=10, choices=Payments.choices
    )
    priority = models.PositiveSmallIntegerField(_("priority"), choices=Priority.choices)
    checks_tried = models.JSONField(
        _("checks already tried"), default=list, blank=True, validators=[refuse_card_number]
    )
    description = models.TextField(
        _("what happens"), validators=[refuse_card_number, refuse_control_characters_in_text]
    )
    callback_phone = models.CharField(
        _("callback phone"),
        max_length=40,
        validators=[refuse_card_number, refuse_control_characters],
    )
    warranty_status = models.CharField(
        _("warranty at filing"), max_length=8, choices=WarrantyStatus.choices
    )
    warranty_end = models.DateField(_("warranty end at filing"), null=True, blank=True)
    warranty_voided_on = models.DateField(_("warranty void since"), null=True, blank=True)
    warranty_void_reason = models.CharField(
        _("why the warranty is void"),
        max_length=200,
        blank=True,
        validators=[refuse_card_number, refuse_control_characters],
    )
    # Claimed, verified or rejected: copied from the terminal at filing, then settled on
    # the ticket by the provider's technician. Free work waits while it is claimed.
    warranty_check = models.CharField(
        _("warranty check"), max_length=10, choices=WarrantyCheck.choices, blank=True
    )
    warranty_check_note = models.CharField(
        _("warranty check note"),
        max_length=200,
        blank=True,
        validators=[refuse_card_number, refuse_control_characters],
    )
    # When the merchant last changed the terminal's warranty fields, if within
    # WARRANTY_EDIT_FLAG_DAYS before filing: the technician sees a flag.
    warranty_edited_at = models.DateTimeField(
        _("warranty fields changed by the merchant"), null=True, blank=True
    )

    # Transaction faults only. Never a full card number: the last four digits at most.
    txn_time = models.DateTimeField(
        _("transaction time"), null=True, blank=True, validators=[validate_payment_time]
    )
    txn_amount = models.DecimalField(
        _("amount (CNY)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    card_last4 = models.CharField(_("card's last four digits"), max_length=4, blank=True)
    txn_response_code = models.CharField(
        _("terminal response code"),
        max_length=16,
        blank=True,
        validators=[refuse_card_number, refuse_control_characters],
    )
    txn_reference = models.CharField(
        _("trace / reference number"),
        max_length=40,
        blank=True,
        validators=[refuse_card_number, refuse_control_characters],
    )

    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.NEW
    )
    queue = models.ForeignKey(
        Queue,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("queue"),
    )
    billable = models.BooleanField(_("billable"), null=True, blank=True)
    routing_note = models.TextField(_("routing explanation"), blank=True)
    # Why it was routed where it is, as facts (tickets.routing.facts_for); pages and
    # e-mails word them in their reader's language (routing_explanation).
    routing_data = models.JSONField(_("routing facts"), default=dict, blank=True)
    needs_admin = models.BooleanField(
        _("needs an admin"),
        default=False,
        help_text=_("Set when no rule or queue fitted, or routing kept failing."),
    )
    # Runs of the routing task that tried to route it: a sweep that only queued one
    # counts nothing (tickets.routing.route).
    route_attempts = models.PositiveSmallIntegerField(_("routing attempts"), default=0)
    routing_failed = models.BooleanField(_("routing failed"), default=False)
    # When the sweeper last queued its routing: not queued again for a while.
    route_requeued_at = models.DateTimeField(_("routing queued again"), null=True, blank=True)
    routed_at = models.DateTimeField(_("routed"), null=True, blank=True)

    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
        verbose_name=_("assigned to"),
    )
    # Set while the platform gave it to its assignee (tickets.assignment), not a person.
    auto_assigned_at = models.DateTimeField(_("assigned automatically"), null=True, blank=True)
    first_response_due = models.DateTimeField(_("first response due"), null=True, blank=True)
    resolution_due = models.DateTimeField(_("resolution due"), null=True, blank=True)
    first_responded_at = models.DateTimeField(_("first responded"), null=True, blank=True)
    # While waiting on the merchant the SLA clock stops; the pause is added to the due times.
    sla_paused_at = models.DateTimeField(_("SLA paused since"), null=True, blank=True)
    first_response_breached_at = models.DateTimeField(null=True, blank=True)
    resolution_breached_at = models.DateTimeField(null=True, blank=True)

    loaner_serial = models.CharField(
        _("loaner serial"),
        max_length=64,
        blank=True,
        validators=[refuse_card_number, refuse_control_characters, validate_serial],
    )
    loaner_issued_at = models.DateTimeField(_("loaner issued"), null=True, blank=True)
    loaner_returned_at = models.DateTimeField(_("loaner returned"), null=True, blank=True)

    resolution_code = models.CharField(
        _("resolution"), max_length=20, choices=Resolution.choices, blank=True
    )
    resolution_note = models.TextField(
        _("resolution note"),
        blank=True,
        validators=[refuse_card_number, refuse_control_characters_in_text],
    )
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    cancel_reason = models.CharField(
        _("cancel reason"),
        max_length=200,
        blank=True,
        validators=[refuse_card_number, refuse_control_characters],
    )
    rating = models.PositiveSmallIntegerField(_("satisfaction (1–5)"), null=True, blank=True)
    rating_comment = models.TextField(
        _("rating comment"),
        blank=True,
        validators=[refuse_card_number, refuse_control_characters_in_text],
    )

    created_at = models.DateTimeField(_("filed"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = TicketQuerySet.as_manager()

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ["-created_at", "-id"]
        constraints = [
            # A double click or a re-sent POST carries the same token: one ticket.
            models.UniqueConstraint(
                fields=["merchant", "submission_token"], name="ticket_submission_once"
            ),
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                name="ticket_rating_1_to_5",
            ),
            models.CheckConstraint(
                condition=Q(card_last4="") | Q(card_last4__regex=r"^[0-9]{4}$"),
                name="ticket_card_last4_digits",
            ),
        ]
        indexes = [
            # The merchant's ticket list, newest first.
            models.Index(fields=["merchant", "-created_at"], name="ticket_merchant_created"),
            # The sweeper: tickets still `new` after the grace period.
            models.Index(
                fields=["created_at"], condition=Q(status="new"), name="ticket_new_created"
            ),
            # Queue lists: open tickets of a queue by resolution due time.
            models.Index(
                fields=["queue", "resolution_due"],
                condition=Q(status__in=["queued", "in_progress", "waiting_merchant"]),
                name="ticket_open_queue_due",
            ),
            # The queue page sorted by SLA due time (TicketQuerySet.with_sla_due): every
            # column the sort reads, so a busy queue is ordered by an index-only scan.
            models.Index(
                fields=[
                    "queue",
                    "first_responded_at",
                    "first_response_due",
                    "resolution_due",
                    "sla_paused_at",
                    "priority",
                    "created_at",
                    "id",
                ],
                condition=Q(status__in=["queued", "in_progress", "waiting_merchant"]),
                name="ticket_open_queue_sla",
            ),
            # Auto-close: resolved tickets by resolution time.
            models.Index(
                fields=["resolved_at"], condition=Q(status="resolved"), name="ticket_resolved_at"
            ),
            # Repair history of one terminal.
            models.Index(fields=["device", "-created_at"], name="ticket_device_created"),
        ]

    def __str__(self) -> str:
        return self.reference or _("ticket (being filed)")

    def save(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        creating = self._state.adding
        super().save(*args, **kwargs)
        if creating and not self.reference:
            # A database without the trigger (SQLite, the embedded default) returned none.
            # Derived from the primary key, so two filings at once can never share one.
            self.reference = format_reference(self.pk)
            Ticket.objects.filter(pk=self.pk).update(reference=self.reference)

    def get_absolute_url(self) -> str:
        return reverse("tickets:detail", args=[self.reference])

    @property
    def symptom_label(self) -> str:
        return symptom_label(self.category, self.symptom)

    @property
    def routing_explanation(self) -> str:
        """Why this queue, who pays, how soon: in the reader's language."""
        from tickets.routing import explain_facts

        if self.routing_data:
            return explain_facts(self.routing_data)
        return self.routing_note

    def warranty_label(self) -> str:
        """The warranty as it stood at filing (or as the provider settled it since)."""
        return warranty_label(
            self.warranty_status,
            end=self.warranty_end,
            voided_on=self.warranty_voided_on,
            void_reason=self.warranty_void_reason,
            check=self.warranty_check,
            check_note=self.warranty_check_note,
        )

    @property
    def warranty_to_verify(self) -> bool:
        """A claimed in-warranty repair: free work waits until the provider verifies it."""
        return (
            self.warranty_check == WarrantyCheck.CLAIMED
            and self.warranty_status != WarrantyStatus.OUT
        )

    def checks_tried_texts(self) -> list[str]:
        """The first-line checks the merchant ticked, in the words they were shown."""
        if not self.checks_tried:
            return []
        texts = {
            check.code: check.shown_text
            for check in SelfHelpCheck.objects.filter(
                category=self.category, code__in=self.checks_tried
            ).only("code", "text", "text_zh_hans")
        }
        # A check deleted in the admin since filing still shows, by its code.
        return [texts.get(code, code) for code in self.checks_tried]

    @property
    def is_open(self) -> bool:
        return self.status in TicketQuerySet.OPEN_STATUSES

    def set_sla_due(self, now=None) -> None:  # noqa: ANN001
        """Due times from the queue's targets for this ticket's priority, in the open
        hours of the queue's calendar (tickets.calendars)."""
        from tickets.calendars import add_open_minutes

        now = now or timezone.now()
        if self.queue is None:
            self.first_response_due = self.resolution_due = None
            return
        hours = self.queue.hours()
        self.first_response_due = add_open_minutes(
            hours, now, self.queue.first_response_minutes(self.priority)
        )
        self.resolution_due = add_open_minutes(
            hours, now, self.queue.resolution_minutes(self.priority)
        )


def format_reference(pk: int) -> str:
    return f"PD-{pk:06d}"


# Money taken from a customer's card without a sale: never waits like a slow printer.
URGENT_SYMPTOMS = frozenset({"charged_not_completed"})


def priority_for(can_take_payments: str, symptom: str = "") -> int:
    """P1 when the shop cannot take payments, P2 when degraded or a customer was charged
    without a sale, P3 otherwise."""
    priority = {
        Ticket.Payments.NO: Priority.P1,
        Ticket.Payments.DEGRADED: Priority.P2,
    }.get(can_take_payments, Priority.P3)
    if symptom in URGENT_SYMPTOMS:
        priority = min(priority, Priority.P2)
    return priority


class TicketEvent(models.Model):
    """One entry of a ticket's timeline. Public ones are shown to the merchant."""

    class Kind(models.TextChoices):
        FILED = "filed", _("Filed")
        ROUTED = "routed", _("Routed")
        ROUTING_FAILED = "routing_failed", _("Routing failed")
        ROUTING_RECOVERED = "routing_recovered", _("Routed after failing")
        CLAIMED = "claimed", _("Claimed")
        ASSIGNED = "assigned", _("Assigned")
        REPLY = "reply", _("Reply")
        NOTE = "note", _("Internal note")
        QUESTION = "question", _("Question to the merchant")
        MERCHANT_REPLY = "merchant_reply", _("Merchant reply")
        QUOTE_SENT = "quote_sent", _("Quote sent")
        QUOTE_ACCEPTED = "quote_accepted", _("Quote accepted")
        QUOTE_DECLINED = "quote_declined", _("Quote declined")
        TRANSFERRED = "transferred", _("Transferred")
        LOANER_ISSUED = "loaner_issued", _("Loaner issued")
        LOANER_RETURNED = "loaner_returned", _("Loaner returned")
        RESOLVED = "resolved", _("Resolved")
        REOPENED = "reopened", _("Reopened")
        CONFIRMED = "confirmed", _("Fix confirmed")
        CLOSED = "closed", _("Closed")
        CANCELLED = "cancelled", _("Cancelled")
        RATED = "rated", _("Rated")
        SLA_BREACHED = "sla_breached", _("SLA breached")
        WARRANTY_VERIFIED = "warranty_verified", _("Warranty verified")
        WARRANTY_REJECTED = "warranty_rejected", _("Warranty claim rejected")
        PROOF_ADDED = "proof_added", _("Proof of purchase added")
        CANCELLED_BY_ADMIN = "admin_cancelled", _("Cancelled by PosDesk")
        DUPLICATE = "duplicate", _("Closed as a duplicate")
        UNASSIGNED = "unassigned", _("Back in the queue")
        INCIDENT_LINKED = "incident_linked", _("Linked to a known problem")
        INCIDENT_UPDATE = "incident_update", _("Known problem update")
        PAYMENTS_BACK = "payments_back", _("Taking payments again")
        # Repair logistics (repairs): one kind per step of a visit, a send-in or a swap.
        REPAIR_VISIT = "repair_visit", _("Technician visit proposed")
        REPAIR_COUNTERED = "repair_countered", _("Another time proposed")
        REPAIR_CONFIRMED = "repair_confirmed", _("Visit time confirmed")
        REPAIR_VISITED = "repair_visited", _("Technician visited")
        REPAIR_SEND_IN = "repair_send_in", _("Send the terminal in")
        REPAIR_RECEIVED = "repair_received", _("Terminal received for repair")
        REPAIR_REPAIRED = "repair_repaired", _("Terminal repaired")
        REPAIR_SHIPPED = "repair_shipped", _("Terminal shipped back")
        REPAIR_SWAP = "repair_swap", _("Replacement shipped")
        REPAIR_DELIVERED = "repair_delivered", _("Terminal received by the shop")
        REPAIR_OLD_RETURNED = "repair_old_returned", _("Old terminal returned")

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="events", verbose_name=_("ticket")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    public = models.BooleanField(_("shown to the merchant"), default=True)
    # Whose queue the ticket was in when this happened. An internal event is read only
    # by that provider's technicians: a transfer never hands over the old one's notes.
    provider = models.ForeignKey(
        "devices.Provider",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("provider"),
    )
    body = models.TextField(
        _("text"), blank=True, validators=[refuse_card_number, refuse_control_characters_in_text]
    )
    data = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket events")
        ordering = ["created_at", "id"]
        indexes = [
            # A ticket's timeline in time order.
            models.Index(fields=["ticket", "created_at"], name="event_ticket_time"),
        ]
        constraints = [
            # Routing happens once: a task delivered twice must not write a second event.
            models.UniqueConstraint(
                fields=["ticket"], condition=Q(kind="routed"), name="event_one_routed_per_ticket"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket} · {self.get_kind_display()}"

    @property
    def text(self) -> str:
        """What the event says, in the reader's language: what a person wrote, or the
        sentence PosDesk builds from the facts it stored (tickets.event_text)."""
        from tickets.event_text import event_text

        return event_text(self)

    @property
    def resolution_display(self) -> str:
        """How a `resolved` event resolved it, in the reader's language (the code is stored)."""
        code = self.data.get("resolution", "")
        if code in Ticket.Resolution.values:
            return str(Ticket.Resolution(code).label)
        return ""


def attachment_upload_to(instance: Attachment, filename: str) -> str:
    # The stored name is ours: a client-sent name (with "../" or worse) never becomes a path.
    suffix = PurePath(filename).suffix.lower()
    if not suffix[1:].isalnum() or len(suffix) > 6:
        suffix = ""
    return f"attachments/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{suffix}"


class Attachment(models.Model):
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("ticket")
    )
    event = models.ForeignKey(
        TicketEvent, on_delete=models.CASCADE, null=True, blank=True, related_name="attachments"
    )
    file = models.FileField(_("file"), upload_to=attachment_upload_to)
    original_name = models.CharField(
        _("file name"), max_length=200, validators=[refuse_card_number, refuse_control_characters]
    )
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveIntegerField(_("size (bytes)"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("uploaded"), default=timezone.now)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.original_name

    def get_absolute_url(self) -> str:
        return reverse("tickets:attachment", args=[self.ticket.reference, self.pk])


class Quote(models.Model):
    """A price for a billable repair; work waits until the merchant accepts it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for the merchant")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="quotes", verbose_name=_("ticket")
    )
    # The provider that priced it: after a transfer the new one needs its own quote.
    provider = models.ForeignKey(
        "devices.Provider",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("provider"),
    )
    amount = models.DecimalField(_("amount (CNY)"), max_digits=10, decimal_places=2)
    covers = models.TextField(
        _("what it covers"), validators=[refuse_card_number, refuse_control_characters_in_text]
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("sent"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    class Meta:
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket"],
                condition=Q(status="pending"),
                name="quote_one_pending_per_ticket",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="quote_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket} · ¥{self.amount}"


class SelfHelpCheck(models.Model):
    """A first-line check offered before a ticket is filed (editable in the admin)."""

    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    code = models.SlugField(
        _("code"), max_length=40, validators=[refuse_card_number, refuse_control_characters]
    )
    text = models.CharField(
        _("check"), max_length=200, validators=[refuse_card_number, refuse_control_characters]
    )
    help_text = models.TextField(
        _("how to"), blank=True, validators=[refuse_card_number, refuse_control_characters_in_text]
    )
    # The same check in Simplified Chinese: checks are data, and a shop reads them in its
    # own language (`shown_text`); empty falls back to the English.
    text_zh_hans = models.CharField(
        _("check (Chinese)"),
        max_length=200,
        blank=True,
        validators=[refuse_card_number, refuse_control_characters],
    )
    help_text_zh_hans = models.TextField(
        _("how to (Chinese)"),
        blank=True,
        validators=[refuse_card_number, refuse_control_characters_in_text],
    )
    symptoms = models.JSONField(
        _("only for these symptoms"),
        default=list,
        blank=True,
        validators=[refuse_card_number],
        help_text=_('Symptom codes, e.g. ["printer"]. Empty: every symptom of the category.'),
    )
    order = models.PositiveSmallIntegerField(_("order"), default=10)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("self-help check")
        verbose_name_plural = _("self-help checks")
        ordering = ["category", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["category", "code"], name="selfhelp_code_per_category"),
        ]

    def __str__(self) -> str:
        return self.text

    def clean(self) -> None:
        known = {code for code, _label in SYMPTOMS.get(self.category, [])}
        symptoms = self.symptoms if isinstance(self.symptoms, list) else [self.symptoms]
        unknown = [code for code in symptoms if code not in known]
        if unknown:
            raise ValidationError(
                {
                    "symptoms": _("Not a symptom of this category: %(codes)s. Use: %(known)s.")
                    % {"codes": ", ".join(map(str, unknown)), "known": ", ".join(sorted(known))}
                }
            )

    @property
    def shown_text(self) -> str:
        """The check in the active language."""
        return localised(self, "text")

    @property
    def shown_help(self) -> str:
        return localised(self, "help_text")

    def fits(self, symptom: str) -> bool:
        return not self.symptoms or not symptom or symptom in self.symptoms


def localised(obj: models.Model, field: str) -> str:
    """`obj.<field>_<language>` in the active language when it is filled in, else the
    English `obj.<field>`: for data that admins enter in both languages."""
    language = (translation.get_language() or "").replace("-", "_")
    if language and not language.startswith("en"):
        value = getattr(obj, f"{field}_{language}", "")
        if value:
            return value
    return getattr(obj, field)


class Advice(models.Model):
    """What the shop should do meanwhile, shown on an open ticket of a kind of fault (e.g.
    a payment charged but not completed: do not charge the card again). Data in both
    languages, edited by admins, shown in the reader's (`shown_text`)."""

    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    symptoms = models.JSONField(
        _("only for these symptoms"),
        default=list,
        blank=True,
        validators=[refuse_card_number],
        help_text=_("Symptom codes. Empty: every symptom of the category."),
    )
    text = models.TextField(
        _("advice"), validators=[refuse_card_number, refuse_control_characters_in_text]
    )
    text_zh_hans = models.TextField(
        _("advice (Chinese)"),
        blank=True,
        validators=[refuse_card_number, refuse_control_characters_in_text],
    )
    order = models.PositiveSmallIntegerField(_("order"), default=10)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("advice while waiting")
        verbose_name_plural = _("advice while waiting")
        ordering = ["category", "order", "id"]

    def __str__(self) -> str:
        return self.text[:60]

    @property
    def shown_text(self) -> str:
        return localised(self, "text")

    @classmethod
    def for_ticket(cls, ticket: Ticket) -> list[Advice]:
        return [
            advice
            for advice in cls.objects.filter(category=ticket.category, active=True)
            if not advice.symptoms or ticket.symptom in advice.symptoms
        ]


class CannedReply(models.Model):
    """A provider's ready-made text for replies and questions, kept by its managers, in
    English and Chinese, with placeholders filled in for each ticket (tickets.canned)."""

    provider = models.ForeignKey(
        "devices.Provider",
        on_delete=models.CASCADE,
        related_name="canned_replies",
        verbose_name=_("provider"),
    )
    title = models.CharField(
        _("title"), max_length=80, validators=[refuse_card_number, refuse_control_characters]
    )
    body = models.TextField(
        _("text (English)"),
        max_length=4000,
        blank=True,
        validators=[refuse_card_number, refuse_control_characters_in_text],
    )
    body_zh_hans = models.TextField(
        _("text (Chinese)"),
        max_length=4000,
        blank=True,
        validators=[refuse_card_number, refuse_control_characters_in_text],
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")
        ordering = ["title", "id"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "title"], name="canned_reply_title_once"),
            models.CheckConstraint(
                condition=~Q(body="", body_zh_hans=""), name="canned_reply_has_text"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class SavedView(models.Model):
    """A technician's named filter of one queue, shown with a live count on /work/ and
    the queue pages (tickets.saved_views). `params` are the queue filter's own query
    parameters, as the list's URL carries them."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(
        _("name"), max_length=60, validators=[refuse_card_number, refuse_control_characters]
    )
    params = models.JSONField(_("filter"), default=dict, blank=True)
    created_at = models.DateTimeField(_("saved"), default=timezone.now)

    class Meta:
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="saved_view_name_once")
        ]

    def __str__(self) -> str:
        return self.name


class SelfHelpSuccess(models.Model):
    """A fault that a first-line check fixed: no ticket, but counted per category."""

    merchant = models.ForeignKey("devices.Merchant", on_delete=models.CASCADE, related_name="+")
    device = models.ForeignKey("devices.Device", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    checks = models.JSONField(_("checks tried"), default=list, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("fixed by self-help")
        verbose_name_plural = _("fixed by self-help")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_category_display()} · {self.created_at:%Y-%m-%d}"
