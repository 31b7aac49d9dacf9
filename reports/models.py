"""Daily rollups of what happened to tickets, for /reports/ (reports.rollups builds them).

One `DayRollup` row holds the counts of one day, one queue (and its provider) and one
breakdown value: `dim` says which breakdown (`all` for the queue's totals, then model,
city, category, warranty state, technician) and `key` its value. A report over 90 days
of a provider sums a few thousand of these rows instead of reading 100,000 tickets.

Each column is counted on the day its event happened (see reports.rollups.contributions):
filings on the filing day; first responses on their day; resolutions, SLA outcomes,
reopens, ratings and downtime on the resolution day; quotes on the filing day.

`Touched` is the list of (ticket, day) pairs whose counts changed since that day was
built: written in the transaction that changed the ticket, read live for today and by
the beat task that rebuilds the earlier days it names.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Dim(models.TextChoices):
    ALL = "all", _("All")
    MODEL = "model", _("Model")
    CITY = "city", _("City")
    CATEGORY = "category", _("Category")
    WARRANTY = "warranty", _("Warranty state")
    TECHNICIAN = "technician", _("Technician")


class DayRollup(models.Model):
    day = models.DateField(_("day"))
    # Denormalised from the queue, so a provider's report reads one index range.
    provider = models.ForeignKey(
        "devices.Provider", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    queue = models.ForeignKey(
        "tickets.Queue", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    dim = models.CharField(_("breakdown"), max_length=12, choices=Dim.choices)
    key = models.CharField(_("value"), max_length=80, blank=True)

    filed = models.PositiveIntegerField(default=0)
    filed_no_payments = models.PositiveIntegerField(default=0)
    # Filed for a fault of the terminal itself (not a payment dispute): "failures".
    filed_faults = models.PositiveIntegerField(default=0)
    # Tickets whose last open spell ended this day (resolved, closed or withdrawn):
    # with `filed`, the backlog of any earlier day (reports.report.backlog_series).
    ended = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    # Minutes in SLA time (the queue's open hours), as {bucket: count} (reports.buckets).
    first_response_hist = models.JSONField(default=dict, blank=True)
    resolution_hist = models.JSONField(default=dict, blank=True)
    sla_met = models.PositiveIntegerField(default=0)
    sla_breached = models.PositiveIntegerField(default=0)
    reopened = models.PositiveIntegerField(default=0)
    rated = models.PositiveIntegerField(default=0)
    rating_sum = models.PositiveIntegerField(default=0)
    rating_1 = models.PositiveIntegerField(default=0)
    rating_2 = models.PositiveIntegerField(default=0)
    rating_3 = models.PositiveIntegerField(default=0)
    rating_4 = models.PositiveIntegerField(default=0)
    rating_5 = models.PositiveIntegerField(default=0)
    # Faults the first-line checks fixed before any ticket (tickets.SelfHelpSuccess).
    deflected = models.PositiveIntegerField(default=0)
    warranty_free = models.PositiveIntegerField(default=0)
    paid = models.PositiveIntegerField(default=0)
    quotes_sent = models.PositiveIntegerField(default=0)
    quotes_accepted = models.PositiveIntegerField(default=0)
    quotes_declined = models.PositiveIntegerField(default=0)
    quoted_amount = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    accepted_amount = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    downtime_tickets = models.PositiveIntegerField(default=0)
    downtime_minutes = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("daily report rollup")
        verbose_name_plural = _("daily report rollups")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "provider", "queue", "dim", "key"],
                nulls_distinct=False,
                name="rollup_one_row_per_cell_of_provider",
            ),
        ]
        indexes = [
            # A provider's report: its rows of one breakdown over a date range.
            models.Index(fields=["provider", "dim", "day"], name="rollup_provider_dim_day"),
            # The admin's report across providers, and rebuilding a day.
            models.Index(fields=["dim", "day"], name="rollup_dim_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.queue_id} {self.dim}={self.key}"


class Touched(models.Model):
    """A ticket (or a self-help success) whose counts on `day` changed since `day` was built."""

    ticket_id = models.BigIntegerField(null=True, blank=True)
    selfhelp_id = models.BigIntegerField(null=True, blank=True)
    day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "ticket_id"],
                condition=Q(ticket_id__isnull=False),
                name="touched_ticket_once_a_day",
            ),
            models.UniqueConstraint(
                fields=["day", "selfhelp_id"],
                condition=Q(selfhelp_id__isnull=False),
                name="touched_selfhelp_once_a_day",
            ),
            models.CheckConstraint(
                condition=Q(ticket_id__isnull=False) | Q(selfhelp_id__isnull=False),
                name="touched_names_something",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day}: {self.ticket_id or self.selfhelp_id}"
