"""The report's filter, read from the query string: a bad value is as if not given."""

from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from devices.models import Provider
from portal.validators import EARLIEST_DATE, validate_past_date
from reports.report import BREAKDOWNS

DEFAULT_DAYS = 30
# Three years: rollups keep a long range cheap, and an export of its tickets streams.
MAX_DAYS = 1096
BREAKDOWN_LABELS = {
    "provider": _("Provider"),
    "queue": _("Queue"),
    "technician": _("Technician"),
    "brand": _("Brand"),
    "model": _("Model"),
    "city": _("City"),
    "category": _("Kind of fault"),
    "warranty": _("Warranty state"),
}


class ReportForm(forms.Form):
    # Days that can hold tickets: from 1990 up to today (a bad one reads as not given).
    start = forms.DateField(
        label=_("From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[validate_past_date],
    )
    end = forms.DateField(
        label=_("To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[validate_past_date],
    )
    by = forms.ChoiceField(label=_("Break down by"), required=False, choices=[])
    provider = forms.ModelChoiceField(
        label=_("Provider"),
        queryset=Provider.objects.order_by("name"),
        required=False,
        empty_label=_("All providers"),
    )
    page = forms.IntegerField(required=False, min_value=1, max_value=10_000)

    def __init__(
        self, data: QueryDict | dict | None = None, *, admin: bool, files: object = None
    ) -> None:
        # The range shown in the form is the one the report uses, also when not given.
        data = (data or QueryDict()).copy()
        today = timezone.localdate()
        data.setdefault("end", today.isoformat())
        try:
            end = date.fromisoformat(str(data.get("end")))
        except ValueError:
            end = today
        if not EARLIEST_DATE <= end <= today:
            end = today  # the field refuses it; the default start is counted from today
        data.setdefault("start", (end - timedelta(days=DEFAULT_DAYS - 1)).isoformat())
        super().__init__(data)
        self.admin = admin
        choices = [b for b in BREAKDOWNS if admin or b != "provider"]
        self.fields["by"].choices = [(b, BREAKDOWN_LABELS[b]) for b in choices]
        if not admin:
            del self.fields["provider"]

    def values(self) -> dict[str, object]:
        """start, end, by, provider, page: the valid ones, defaults for the rest."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        today = timezone.localdate()
        end: date = data.get("end") or today
        start: date = data.get("start") or end - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            start, end = end, start
        if (end - start).days >= MAX_DAYS:
            start = end - timedelta(days=MAX_DAYS - 1)
        by = data.get("by") or ("provider" if self.admin else "queue")
        return {
            "start": start,
            "end": end,
            "by": by,
            "provider": data.get("provider") if self.admin else None,
            "page": data.get("page") or 1,
        }
