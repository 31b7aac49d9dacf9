"""Forms of the technician's incident pages: declare one by hand, and one form per action.

Each action form has its own prefix, so confirm, update and resolve sit on one page with
distinct field ids, and a form with errors is shown again in place with what was typed.
What the forms check here is what `outages.services` would refuse, so a person reads
the reason next to the field instead of a message at the top.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.validators import refuse_control_characters, refuse_control_characters_in_text
from tickets.models import SYMPTOMS, Category
from tickets.pci import refuse_card_number

TEXT_MAX = 2000
# How far from now an incident's times may be: an outage noticed late started a while
# ago, maintenance is planned ahead; beyond these it is a typing slip (year 2205).
EARLIEST_START = timedelta(days=30)
LATEST = timedelta(days=366)
# A phone's clock a little ahead of the server's is not "in the past".
CLOCK_SLACK = timedelta(minutes=5)
DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
SYMPTOM_SEPARATOR = ":"


def validate_incident_time(value: datetime | None) -> None:
    """From 30 days ago up to a year ahead."""
    if value is None:
        return
    now = timezone.now()
    # The years first: near year 1 or 9999 an aware comparison overflows.
    if not (now.year - 1 <= value.year <= now.year + 1):
        raise ValidationError(_("Enter a time within a year from now."), code="out_of_range")
    if value < now - EARLIEST_START:
        raise ValidationError(_("Enter a time within the last 30 days."), code="out_of_range")
    if value > now + LATEST:
        raise ValidationError(_("Enter a time within a year from now."), code="out_of_range")


def validate_future_time(value: datetime | None) -> None:
    """A promise ("next update by"): not in the past, not beyond a year."""
    if value is None:
        return
    validate_incident_time(value)
    if value < timezone.now() - CLOCK_SLACK:
        raise ValidationError(_("Enter a time that is still to come."), code="past")


def _time(label: str, *, required: bool = False, future: bool = False, **kw: Any) -> forms.Field:
    return forms.DateTimeField(
        label=label,
        required=required,
        widget=DATETIME_WIDGET,
        validators=[validate_future_time if future else validate_incident_time],
        **kw,
    )


def _text(label: str, rows: int = 3, *, help_text: str = "") -> forms.CharField:
    # Public updates are e-mailed to every shop: never a card number in them.
    return forms.CharField(
        label=label,
        required=False,
        max_length=TEXT_MAX,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": rows}),
        validators=[refuse_card_number, refuse_control_characters_in_text],
    )


def _line(label: str, max_length: int, *, help_text: str = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        max_length=max_length,
        help_text=help_text,
        validators=[refuse_card_number, refuse_control_characters],
    )


def symptom_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Every kind of fault's symptoms, grouped under the kind: without JavaScript the page
    cannot narrow the list when the kind changes, so `clean` checks they belong to it.
    Values carry the kind ("network:host"), as codes such as "other" exist in every kind."""
    return [
        (
            str(label),
            [(f"{kind}{SYMPTOM_SEPARATOR}{code}", str(text)) for code, text in SYMPTOMS[kind]],
        )
        for kind, label in Category.choices
        if kind in SYMPTOMS
    ]


class SymptomsField(forms.MultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Symptoms"))
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text",
            _("Only those of the kind of fault chosen. None ticked: any symptom of that kind."),
        )
        super().__init__(choices=symptom_choices, **kwargs)


def check_declaration(form: forms.Form, data: dict[str, Any], *, maintenance: bool) -> None:
    """What `services.declare` refuses, as errors next to the fields. Also turns the
    ticked "kind:code" symptoms into the codes an incident stores."""
    category = data.get("category")
    ticked = data.get("symptoms") or []
    codes, wrong = [], []
    for value in ticked:
        kind, _sep, code = str(value).partition(SYMPTOM_SEPARATOR)
        (codes if kind == category else wrong).append(code)
    if category and wrong:
        form.add_error("symptoms", _("Tick only symptoms of the kind of fault chosen."))
    data["symptoms"] = sorted(set(codes))
    if not (data.get("summary", "").strip() or data.get("summary_zh_hans", "").strip()):
        form.add_error("summary", _("Say what is wrong, in English or Chinese."))
    if data.get("district", "").strip() and not data.get("city", "").strip():
        form.add_error("city", _("Name the city of this district."))
    starts_at = data.get("starts_at") or timezone.now()
    ends_at = data.get("ends_at")
    if maintenance and ends_at is None and "ends_at" not in form.errors:
        form.add_error("ends_at", _("Planned maintenance needs its end."))
    if ends_at is not None and ends_at <= starts_at:
        form.add_error("ends_at", _("The end must be after the start."))


class DeclareForm(forms.Form):
    """An incident declared by hand: an outage the provider knows of, or maintenance."""

    category = forms.ChoiceField(label=_("Kind of fault"), choices=Category.choices)
    symptoms = SymptomsField()
    city = _line(_("City"), 80, help_text=_("Empty: every city."))
    district = _line(_("District"), 80, help_text=_("Empty: the whole city."))
    summary = _line(
        _("What is wrong (English)"),
        200,
        help_text=_("The shops read this. Write it in English, Chinese or both."),
    )
    summary_zh_hans = _line(_("What is wrong (Chinese)"), 200)
    maintenance = forms.BooleanField(
        label=_("Planned maintenance"),
        required=False,
        help_text=_("Give its end. Tickets are linked from its start."),
    )
    starts_at = _time(_("Since"), help_text=_("Empty: now."))
    ends_at = _time(_("Expected end"))
    next_update_at = _time(_("Next update by"), future=True)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        check_declaration(self, data, maintenance=bool(data.get("maintenance")))
        return data


class ConfirmForm(forms.Form):
    body = _text(_("Message to the shops (English)"), 2)
    body_zh_hans = _text(
        _("Message to the shops (Chinese)"),
        2,
        help_text=_("Optional: every linked shop reads it on its ticket and by e-mail."),
    )


class UpdateForm(forms.Form):
    PUBLIC, INTERNAL = "public", "internal"

    body = _text(_("Update (English)"))
    body_zh_hans = _text(_("Update (Chinese)"))
    audience = forms.ChoiceField(
        label=_("Who reads it"),
        widget=forms.RadioSelect,
        initial=PUBLIC,
        choices=[
            (PUBLIC, _("Every linked shop: on its ticket and by e-mail")),
            (INTERNAL, _("Only your provider: an internal note")),
        ],
    )
    next_update_at = _time(_("Next update by"), future=True)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not (data.get("body", "").strip() or data.get("body_zh_hans", "").strip()):
            if "body" not in self.errors and "body_zh_hans" not in self.errors:
                self.add_error("body", _("Write the update, in English or Chinese."))
        return data

    @property
    def public(self) -> bool:
        return self.cleaned_data.get("audience") == self.PUBLIC


class ResolveForm(forms.Form):
    body = _text(_("Closing message (English)"), 2)
    body_zh_hans = _text(
        _("Closing message (Chinese)"),
        2,
        help_text=_("Optional: sent to every linked shop with the news it is resolved."),
    )
