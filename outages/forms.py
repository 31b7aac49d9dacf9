"""Merchant forms of outages: "me too" and the offline sales log."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from outages.models import OfflineSale
from portal.validators import refuse_control_characters, validate_past_time
from tickets.forms import filing_devices
from tickets.pci import refuse_card_number

if TYPE_CHECKING:
    from devices.models import Merchant

# A sale typed in a minute after the fact, by a phone whose clock runs a little ahead.
CLOCK_SLACK = timedelta(minutes=5)


class MeTooForm(forms.Form):
    """What a "Me too" button carries: the shop's terminal, and a token so that a double
    tap files one ticket."""

    device = forms.ModelChoiceField(queryset=None)
    submission_token = forms.UUIDField()

    def __init__(self, merchant: Merchant, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["device"].queryset = filing_devices(merchant)


class OfflineSaleForm(forms.Form):
    sold_at = forms.DateTimeField(
        label=_("Time of the sale"),
        validators=[validate_past_time],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    amount = forms.DecimalField(
        label=_("Amount (CNY)"),
        max_digits=10,
        decimal_places=2,
        min_value=Decimal("0.01"),
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )
    method = forms.ChoiceField(
        label=_("Paid by"), choices=OfflineSale.Method.choices, widget=forms.RadioSelect
    )
    card_last4 = forms.CharField(
        label=_("Card's last four digits"),
        required=False,
        # Long enough to take a full card number typed by mistake, and refuse it as one.
        max_length=40,
        validators=[refuse_card_number, refuse_control_characters],
        help_text=_("Optional. Only the last four digits, never the full card number."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=200,
        validators=[refuse_card_number, refuse_control_characters],
        help_text=_("Optional: what was sold, a receipt number."),
    )

    def clean_sold_at(self) -> Any:
        sold_at = self.cleaned_data["sold_at"]
        if sold_at > timezone.now() + CLOCK_SLACK:
            raise ValidationError(_("The time of the sale cannot be in the future."))
        return sold_at

    def clean_card_last4(self) -> str:
        digits = "".join(self.cleaned_data["card_last4"].split())
        if digits and not (len(digits) == 4 and digits.isdigit()):
            raise ValidationError(_("Enter only the card's last four digits."))
        return digits

    def sale_kwargs(self) -> dict[str, Any]:
        """What `services.log_sale` takes."""
        return {
            name: self.cleaned_data[name]
            for name in ("sold_at", "amount", "method", "note", "card_last4")
        }
