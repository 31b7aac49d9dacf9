"""How a decided repair happens: an on-site visit, a send-in or a swap.

One `Repair` per ticket, made by the technician once the repair is decided (warranty
verified, or a quote accepted). It holds what the current step needs and when each
step happened; every step is also a `TicketEvent` (written by `repairs.services`
through the one event writer), so the timeline and the e-mails tell the shop.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.validators import refuse_control_characters, refuse_control_characters_in_text
from tickets.models import Ticket
from tickets.pci import refuse_card_number

TEXT = [refuse_card_number, refuse_control_characters]


class Repair(models.Model):
    class Method(models.TextChoices):
        VISIT = "visit", _("On-site visit")
        SEND_IN = "send_in", _("Send-in to the repair centre")
        SWAP = "swap", _("Swap for a replacement")

    class Step(models.TextChoices):
        # A visit
        VISIT_PROPOSED = "visit_proposed", _("Visit proposed, waiting for the shop")
        VISIT_COUNTERED = "visit_countered", _("The shop proposed another time")
        VISIT_CONFIRMED = "visit_confirmed", _("Visit confirmed")
        VISITED = "visited", _("Visit done")
        # A send-in
        AWAITING_UNIT = "awaiting_unit", _("Waiting for the terminal to arrive")
        RECEIVED = "received", _("Received at the repair centre")
        REPAIRED = "repaired", _("Repaired")
        SHIPPED_BACK = "shipped_back", _("Shipped back to the shop")
        # A swap
        REPLACEMENT_SHIPPED = "replacement_shipped", _("Replacement on its way")
        # The shop has its terminal (send-in) or the replacement (swap)
        DELIVERED = "delivered", _("Received by the shop")
        OLD_RETURNED = "old_returned", _("Old terminal returned")

    ticket = models.OneToOneField(
        Ticket, on_delete=models.CASCADE, related_name="repair", verbose_name=_("ticket")
    )
    method = models.CharField(_("how"), max_length=10, choices=Method.choices)
    step = models.CharField(_("step"), max_length=20, choices=Step.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("decided by"),
    )
    created_at = models.DateTimeField(_("decided"), default=timezone.now)
    step_at = models.DateTimeField(_("step since"), default=timezone.now)

    # A visit: the slot proposed by the technician (confirmed once the shop agrees),
    # and the shop's counter-proposal while it waits for the technician.
    slot_start = models.DateTimeField(_("visit from"), null=True, blank=True)
    slot_end = models.DateTimeField(_("visit until"), null=True, blank=True)
    counter_start = models.DateTimeField(_("shop's time from"), null=True, blank=True)
    counter_end = models.DateTimeField(_("shop's time until"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("visit confirmed"), null=True, blank=True)
    visited_at = models.DateTimeField(_("visited"), null=True, blank=True)

    # A send-in: where the terminal goes and how; the way back.
    centre_address = models.TextField(
        _("repair centre address"),
        blank=True,
        validators=[refuse_card_number, refuse_control_characters_in_text],
    )
    courier_in = models.CharField(
        _("courier to the centre"), max_length=60, blank=True, validators=TEXT
    )
    tracking_in = models.CharField(
        _("tracking number to the centre"), max_length=60, blank=True, validators=TEXT
    )
    received_at = models.DateTimeField(_("received at the centre"), null=True, blank=True)
    repaired_at = models.DateTimeField(_("repaired"), null=True, blank=True)

    # The way to the shop: the repaired terminal (send-in) or the replacement (swap).
    replacement_serial = models.CharField(
        _("replacement serial"), max_length=64, blank=True, validators=TEXT
    )
    courier_out = models.CharField(
        _("courier to the shop"), max_length=60, blank=True, validators=TEXT
    )
    tracking_out = models.CharField(
        _("tracking number to the shop"), max_length=60, blank=True, validators=TEXT
    )
    shipped_at = models.DateTimeField(_("shipped to the shop"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("received by the shop"), null=True, blank=True)
    old_returned_at = models.DateTimeField(_("old terminal returned"), null=True, blank=True)

    class Meta:
        verbose_name = _("repair")
        verbose_name_plural = _("repairs")
        constraints = [
            models.CheckConstraint(
                condition=Q(slot_end__isnull=True) | Q(slot_end__gt=models.F("slot_start")),
                name="repair_slot_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(counter_end__isnull=True)
                | Q(counter_end__gt=models.F("counter_start")),
                name="repair_counter_ends_after_start",
            ),
            # A step of another method is a bug, never a state.
            models.CheckConstraint(
                condition=Q(
                    method="visit",
                    step__in=["visit_proposed", "visit_countered", "visit_confirmed", "visited"],
                )
                | Q(
                    method="send_in",
                    step__in=["awaiting_unit", "received", "repaired", "shipped_back", "delivered"],
                )
                | Q(method="swap", step__in=["replacement_shipped", "delivered", "old_returned"]),
                name="repair_step_of_its_method",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} · {self.get_method_display()} · {self.get_step_display()}"

    @property
    def is_over(self) -> bool:
        return self.step in FINAL_STEPS[self.method]

    @property
    def reached_shop(self) -> bool:
        """The shop has a working terminal again (a swap's old unit may still be on its
        way back): the ticket may be resolved as repaired."""
        return self.step in {self.Step.VISITED, self.Step.DELIVERED, self.Step.OLD_RETURNED}


FINAL_STEPS = {
    Repair.Method.VISIT: frozenset({Repair.Step.VISITED}),
    Repair.Method.SEND_IN: frozenset({Repair.Step.DELIVERED}),
    Repair.Method.SWAP: frozenset({Repair.Step.OLD_RETURNED}),
}
