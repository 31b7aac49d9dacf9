"""The forms of a repair's steps. Each has its own prefix, so several sit on one page
with distinct field ids; a form with errors is shown again with what was typed."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.validators import refuse_control_characters, refuse_control_characters_in_text
from tickets.pci import refuse_card_number

TEXT = [refuse_card_number, refuse_control_characters]


def _line(label: str, max_length: int = 60) -> forms.CharField:
    return forms.CharField(label=label, max_length=max_length, validators=TEXT)


class SlotForm(forms.Form):
    """A visit's day and hours, in the site's time zone."""

    day = forms.DateField(label=_("Day"), widget=forms.DateInput(attrs={"type": "date"}))
    start = forms.TimeField(label=_("From"), widget=forms.TimeInput(attrs={"type": "time"}))
    end = forms.TimeField(label=_("Until"), widget=forms.TimeInput(attrs={"type": "time"}))

    def clean_day(self) -> date:
        """From today to a year ahead: a visit is not booked for 1989 or 9999."""
        day = self.cleaned_data["day"]
        today = timezone.localdate()
        if day < today:
            raise forms.ValidationError(_("Propose a time in the future."))
        if day > today + timedelta(days=366):
            raise forms.ValidationError(_("Propose a day within the next year."))
        return day

    def clean(self) -> dict:
        data = super().clean()
        day: date | None = data.get("day")
        start: time | None = data.get("start")
        end: time | None = data.get("end")
        if day is None or start is None or end is None:
            return data
        if end <= start:
            self.add_error("end", _("The visit must end after it starts."))
            return data
        data["slot_start"] = timezone.make_aware(datetime.combine(day, start))
        data["slot_end"] = timezone.make_aware(datetime.combine(day, end))
        if data["slot_start"] <= timezone.now():
            self.add_error("day", _("Propose a time in the future."))
        return data

    def slot(self) -> dict:
        return {
            "slot_start": self.cleaned_data["slot_start"],
            "slot_end": self.cleaned_data["slot_end"],
        }


class VisitForm(SlotForm):
    prefix = "visit"


class ProposeForm(SlotForm):
    prefix = "propose"


class CounterForm(SlotForm):
    prefix = "counter"

    note = forms.CharField(
        label=_("Anything the technician should know (optional)"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        validators=[refuse_card_number, refuse_control_characters_in_text],
    )


class SendInForm(forms.Form):
    prefix = "send_in"

    centre_address = forms.CharField(
        label=_("Repair centre's address"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        validators=[refuse_card_number, refuse_control_characters_in_text],
    )
    courier = _line(_("Courier"))
    tracking = _line(_("Tracking number"))


class SwapForm(forms.Form):
    prefix = "swap"

    replacement_serial = _line(_("Replacement terminal's serial number"), 64)
    courier = _line(_("Courier"))
    tracking = _line(_("Tracking number"))


class ShipBackForm(forms.Form):
    prefix = "ship_back"

    courier = _line(_("Courier"))
    tracking = _line(_("Tracking number"))
