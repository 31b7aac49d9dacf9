"""Merchant forms: filing a fault (in steps, on one page), replying, and the ticket's end."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.forms.models import ModelChoiceIterator, ModelChoiceIteratorValue
from django.forms.utils import flatatt
from django.utils import timezone
from django.utils.functional import cached_property, lazy
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from devices.models import Device
from portal.validators import (
    refuse_control_characters,
    refuse_control_characters_in_text,
    validate_past_time,
    validate_payment_time,
)
from tickets.models import SYMPTOMS, Category, SelfHelpCheck, Ticket
from tickets.pci import refuse_card_number
from tickets.uploads import ACCEPT, MAX_FILES, CheckedFile, check_uploads

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from devices.models import Merchant


# Attachments ----------------------------------------------------------------------------


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Up to MAX_FILES files, each checked by its content (see tickets.uploads)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ACCEPT}))
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[CheckedFile]:
        uploads = data if isinstance(data, list | tuple) else [data]
        uploads = [upload for upload in uploads if upload]
        if not uploads:
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return []
        return check_uploads(uploads)


def _attachments_help() -> str:
    return gettext(
        "Up to %(max)d files: photos of the screen or error, PDF receipts, plain text. 10 MB each."
    ) % {"max": MAX_FILES}


def attachments_field() -> MultipleFileField:
    return MultipleFileField(
        label=_("Photos or documents"),
        # Formatted when a page shows it, in its reader's language: a form class is
        # built once, at import, in no one's language.
        help_text=lazy(_attachments_help, str)(),
    )


# Filing ---------------------------------------------------------------------------------


def filing_devices(merchant: Merchant) -> QuerySet[Device]:
    """The terminals a merchant can report: its own, still in service.

    No select_related: the choices read their labels as columns (ColumnChoices), and
    checking a submitted terminal needs only the device row.
    """
    return (
        Device.objects.filter(merchant=merchant)
        .exclude(status__in=[Device.Status.RETIRED, Device.Status.REPLACED])
        .order_by("model__brand__name", "model__name", "serial_number")
    )


class FastSelect(forms.Select):
    """The same HTML as Django's Select, with the <option>s written in Python.

    Django renders every option through its own template include; for a chain with
    hundreds of terminals that was most of the ticket list's time (bench/RESULTS.md).
    """

    def render(
        self, name: str, value: Any, attrs: dict | None = None, renderer: Any = None
    ) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [format_html('<select name="{}"{}>', widget["name"], flatatt(widget["attrs"]))]
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                parts.append(format_html('<optgroup label="{}">', group_name))
            parts.extend(
                format_html(
                    '<option value="{}"{}>{}</option>',
                    str(option["value"]),
                    flatatt(option["attrs"]),
                    option["label"],
                )
                for option in options
            )
            if group_name:
                parts.append("</optgroup>")
        parts.append("</select>")
        return mark_safe("\n".join(parts))  # noqa: S308 - every part is escaped above


def device_label(brand: str, model: str, serial: str, location: str) -> str:
    where = f" · {location}" if location else ""
    return f"{brand} {model} · {serial}{where}"


class ColumnChoices(ModelChoiceIterator):
    """A model choice field's options read as the few columns a label needs
    (`field.label_columns`) and labelled by `field.label_from_columns`, instead of one
    model instance per option (Django's default): the same labels, a third of the time
    for a chain's hundreds of terminals (bench W4) and for the technician's selects (W3).
    Validating a POST still goes through the field's queryset, to a model instance."""

    def __iter__(self) -> Iterator[tuple[Any, str]]:
        field = self.field
        if field.empty_label is not None:
            yield ("", field.empty_label)
        yield from column_choices(field, self.queryset.values_list("pk", *field.label_columns))


def column_choices(
    field: forms.ModelChoiceField, rows: Iterable[tuple[Any, ...]]
) -> Iterator[tuple[Any, str]]:
    """(value, label) for rows of ("pk", *field.label_columns)."""
    for pk, *columns in rows:
        yield (ModelChoiceIteratorValue(pk, None), field.label_from_columns(*columns))


# What a terminal's label is made of, read as columns (see ColumnChoices).
DEVICE_LABEL_COLUMNS = ("model__brand__name", "model__name", "serial_number", "location")


class DeviceField(forms.ModelChoiceField):
    widget = FastSelect
    iterator = ColumnChoices
    label_columns = DEVICE_LABEL_COLUMNS
    label_from_columns = staticmethod(device_label)

    def label_from_instance(self, obj: Device) -> str:
        return device_label(obj.model.brand.name, obj.model.name, obj.serial_number, obj.location)

    def fetch_choices(self) -> list[int]:
        """Read the choices now and keep them for rendering (one query, not one per use);
        the ids of the terminals offered."""
        choices = list(iter(self.choices))  # iter(): list() would ask len(), a COUNT query
        self.choices = choices
        return [value.value for value, _label in choices if value != ""]

    def set_rows(self, rows: Iterable[tuple[Any, ...]]) -> None:
        """Choices from rows of ("pk", *DEVICE_LABEL_COLUMNS) already read (no query of
        its own)."""
        empty = [] if self.empty_label is None else [("", self.empty_label)]
        self.choices = [*empty, *column_choices(self, rows)]


def device_field(merchant: Merchant) -> DeviceField:
    return DeviceField(
        queryset=filing_devices(merchant),
        label=_("Which terminal?"),
        empty_label=_("Choose a terminal"),
        error_messages={"invalid_choice": _("Choose one of your own terminals.")},
    )


class StartForm(forms.Form):
    """Step 1, sent with GET so it works without JavaScript: terminal and kind of fault."""

    category = forms.ChoiceField(
        label=_("What kind of fault?"), choices=Category.choices, widget=forms.RadioSelect
    )

    def __init__(self, merchant: Merchant, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields = {"device": device_field(merchant), **self.fields}


phone_validator = RegexValidator(
    r"^\+?[0-9 ()\-]{5,24}$",
    _("Enter a phone number: digits, spaces, dashes, an optional leading +."),
)
last4_validator = RegexValidator(r"^[0-9]{4}$", _("Enter exactly four digits."))


class TicketForm(forms.Form):
    """Steps 2 and 3: the category's first-line checks, then the fault itself.

    The symptom list and the transaction fields depend on the category, so the
    form is built for one category (from step 1, carried as a hidden field).
    """

    category = forms.ChoiceField(choices=Category.choices, widget=forms.HiddenInput)
    submission_token = forms.UUIDField(widget=forms.HiddenInput)
    checks_tried = forms.MultipleChoiceField(
        label=_("What have you tried?"), required=False, widget=forms.CheckboxSelectMultiple
    )
    symptom = forms.ChoiceField(label=_("What is wrong?"))
    # One code field: the screen's error code, or a payment's response code on the receipt.
    error_code = forms.CharField(
        label=_("Code on the screen or the receipt"),
        required=False,
        max_length=32,
        help_text=_("Exactly as shown, e.g. “11” or “E05”. Leave empty if there is none."),
        validators=[refuse_card_number, refuse_control_characters],
    )
    can_take_payments = forms.ChoiceField(
        label=_("Can you still take card payments?"),
        choices=Ticket.Payments.choices,
        widget=forms.RadioSelect,
    )
    # Asked only when the shop cannot take payments (hidden otherwise by the page's CSS):
    # its downtime starts then instead of at filing (outages.services.start_downtime).
    payments_down_since = forms.DateTimeField(
        label=_("Since when? (optional)"),
        required=False,
        # An absurd time is refused whatever the answer; the window only when asked.
        validators=[validate_past_time],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("When the terminal stopped taking card payments, if before now."),
    )
    description = forms.CharField(
        label=_("What happens?"),
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=5000,
        help_text=_("When did it start, what do you see, what did you try?"),
        validators=[refuse_card_number, refuse_control_characters_in_text],
    )
    callback_phone = forms.CharField(
        label=_("Phone number to call you back"),
        max_length=40,
        validators=[phone_validator, refuse_card_number, refuse_control_characters],
    )
    # Transaction faults only (removed for other categories in __init__).
    txn_time = forms.DateTimeField(
        label=_("Time of the payment"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        validators=[validate_payment_time],
    )
    txn_amount = forms.DecimalField(
        label=_("Amount (CNY)"), required=False, max_digits=12, decimal_places=2, min_value=0
    )
    card_last4 = forms.CharField(
        label=_("Card's last four digits"),
        required=False,
        max_length=4,
        validators=[last4_validator],
        help_text=_("Only the last four digits, never the full card number."),
    )
    txn_reference = forms.CharField(
        label=_("Trace or reference number on the receipt"),
        required=False,
        max_length=40,
        validators=[refuse_card_number, refuse_control_characters],
    )
    attachments = attachments_field()

    TRANSACTION_FIELDS = (
        "txn_time",
        "txn_amount",
        "card_last4",
        "txn_reference",
    )
    # A payment problem cannot be traced without them.
    REQUIRED_FOR_PAYMENTS = ("txn_time", "txn_amount")

    def __init__(self, merchant: Merchant, category: str, *args: Any, **kwargs: Any) -> None:
        if category != Category.TRANSACTION:
            # Left out before Django deep-copies the fields for this form, not after.
            self.base_fields = {
                name: field
                for name, field in self.base_fields.items()
                if name not in self.TRANSACTION_FIELDS
            }
        super().__init__(*args, **kwargs)
        self.merchant = merchant
        self.fields = {"device": device_field(merchant), **self.fields}
        self.category = category
        # Callable choices are read only when a ticked check is validated (or the page
        # shows the checks): filing with nothing ticked needs no query for them.
        self.fields["checks_tried"].choices = self._check_choices
        self.fields["symptom"].choices = [("", _("Choose what fits best")), *SYMPTOMS[category]]
        for name in self.REQUIRED_FOR_PAYMENTS:
            if name in self.fields:
                self.fields[name].required = True

    @cached_property
    def checks(self) -> list[SelfHelpCheck]:
        """The category's active first-line checks, in their order."""
        return list(
            SelfHelpCheck.objects.filter(category=self.category, active=True).order_by(
                "order", "id"
            )
        )

    def _check_choices(self) -> list[tuple[str, str]]:
        return [(check.code, check.shown_text) for check in self.checks]

    @property
    def transaction_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.TRANSACTION_FIELDS if name in self.fields]

    @property
    def selected_checks(self) -> list[str]:
        if self.is_bound:
            return self.data.getlist("checks_tried") if hasattr(self.data, "getlist") else []
        return list(self.initial.get("checks_tried", []))

    def clean_category(self) -> str:
        category = self.cleaned_data["category"]
        if category != self.category:
            raise ValidationError(_("The kind of fault changed; choose it again."))
        return category

    def clean_payments_down_since(self) -> Any:
        since = self.cleaned_data["payments_down_since"]
        if since is None:
            return None
        now = timezone.now()
        if since >= now:
            raise ValidationError(
                _("Give a time earlier than now, or leave it empty."), code="window"
            )
        hours = settings.OUTAGES_DOWNTIME_MAX_BACK_HOURS
        if since < now - timedelta(hours=hours):
            raise ValidationError(
                gettext("Give a time within the last %(hours)d hours, or leave it empty.")
                % {"hours": hours},
                code="window",
            )
        return since

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("can_take_payments") != Ticket.Payments.NO:
            # The question was not asked (hidden): what it holds is not the shop's answer,
            # and only an absurd time (year 1, 9999) is worth a word.
            data["payments_down_since"] = None
            errors = self.errors.as_data().get("payments_down_since", [])
            if all(error.code in {"window", "invalid"} for error in errors):
                self._errors.pop("payments_down_since", None)
        return data

    def filing_kwargs(self) -> dict[str, Any]:
        """What `services.file_ticket` takes, from the cleaned data."""
        data = self.cleaned_data
        kwargs: dict[str, Any] = {
            "device": data["device"],
            "category": data["category"],
            "symptom": data["symptom"],
            "error_code": data["error_code"],
            "can_take_payments": data["can_take_payments"],
            "description": data["description"],
            "callback_phone": data["callback_phone"],
            "checks_tried": data["checks_tried"],
            "attachments": data["attachments"],
            "submission_token": data["submission_token"],
            "payments_down_since": data.get("payments_down_since"),
        }
        for name in self.TRANSACTION_FIELDS:
            if name in data:
                kwargs[name] = data[name]
        return kwargs


def new_submission_token() -> uuid.UUID:
    return uuid.uuid4()


# On the ticket page -------------------------------------------------------------------------


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Your reply"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=5000,
        validators=[refuse_card_number, refuse_control_characters_in_text],
    )
    attachments = attachments_field()


class CancelForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Why do you withdraw the ticket?"),
        choices=Ticket.CancelReason.choices,
        widget=forms.RadioSelect,
    )
    other = forms.CharField(
        label=_("Tell us more"),
        required=False,
        max_length=180,
        validators=[refuse_card_number, refuse_control_characters],
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("reason") == "other" and not (data.get("other") or "").strip():
            self.add_error("other", _("Say why you withdraw the ticket."))
        return data

    def withdraw_kwargs(self) -> dict[str, str]:
        """For `workflow.cancel`: the reason's code, and only what the shop typed."""
        return {"code": self.cleaned_data["reason"], "reason": self.cleaned_data["other"]}


class ReopenForm(forms.Form):
    reason = forms.CharField(
        label=_("What is still wrong?"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        validators=[refuse_card_number, refuse_control_characters_in_text],
    )


class RatingForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=_("How satisfied are you with the repair?"),
        choices=[(n, str(n)) for n in range(5, 0, -1)],
        coerce=int,
        widget=forms.RadioSelect,
        help_text=_("5 is best."),
    )
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        validators=[refuse_card_number, refuse_control_characters_in_text],
    )


class TicketFilterForm(forms.Form):
    """The list's filters. Only listed values are accepted; anything else is ignored.

    The terminal filter is a select of the shop's terminals when it has at most
    TERMINALS_IN_SELECT of them. A chain with more gets a search box (serial number or
    location) instead: hundreds of options are no way to find one terminal, least of all
    on a phone, and writing them was a third of the list's time (bench W4). One query
    decides which, and is the select's choices.
    """

    TERMINALS_IN_SELECT = 30

    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *Ticket.Status.choices]
    )

    def __init__(self, merchant: Merchant, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        devices = Device.objects.filter(merchant=merchant).select_related("model__brand")
        rows = list(
            devices.values_list("pk", *DEVICE_LABEL_COLUMNS)[: self.TERMINALS_IN_SELECT + 1]
        )
        if len(rows) > self.TERMINALS_IN_SELECT:
            self.fields["terminal"] = forms.CharField(
                label=_("Terminal"),
                required=False,
                max_length=64,
                validators=[refuse_card_number, refuse_control_characters],
                widget=forms.SearchInput(
                    attrs={"placeholder": _("Serial number or location"), "autocomplete": "off"}
                ),
            )
            return
        field = DeviceField(
            queryset=devices,
            label=_("Terminal"),
            required=False,
            empty_label=_("Any terminal"),
        )
        field.set_rows(rows)
        self.fields["device"] = field

    @property
    def terminal_filter(self) -> forms.BoundField:
        """The terminal filter this shop gets: the select, or the search box."""
        return self["terminal"] if "terminal" in self.fields else self["device"]

    def value(self, name: str) -> Any:
        """The cleaned value of one filter, or None when it is empty or not allowed."""
        self.is_valid()
        if name in self.errors:
            return None
        return self.cleaned_data.get(name) or None
