"""Forms of the device pages: register or edit a terminal, upload a CSV to import."""

from __future__ import annotations

from itertools import groupby

import filetype
from crispy_forms.helper import FormHelper
from crispy_forms.layout import Fieldset, Layout, Submit
from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Q, QuerySet
from django.forms.models import construct_instance
from django.utils.translation import gettext_lazy as _

from devices import importer
from devices.models import Device, DeviceModel, Provider, normalise_serial
from devices.services import merchant_saved
from devices.warranty import WarrantySource
from portal.validators import (
    refuse_control_characters,
    refuse_control_characters_in_text,
    validate_purchase_date,
    validate_serial,
    validate_warranty_end,
)
from tickets.pci import refuse_card_number

# Proof of purchase: what a receipt or an invoice is, recognised by its first bytes.
PROOF_MIME_TYPES = {
    "application/pdf": "pdf",
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
}

DUPLICATE_SERIAL = _("A terminal of this brand with this serial number is already registered.")
# Editing a terminal to a serial another shop's terminal has: refused without saying so
# (a new registration is held for a check instead, see DeviceForm.serial_taken_by).
SERIAL_NEEDS_SUPPORT = _(
    "This serial number cannot be used for this terminal. Check it against the label; "
    "if it is right, contact PosDesk support."
)


def serial_owner(*, brand_id: int, serial: str, exclude_pk: int | None = None) -> int | None:
    """The merchant whose terminal has this serial of this brand, if any. Serials are
    unique per brand across the whole platform (the database says so too)."""
    taken = Device.objects.filter(brand_id=brand_id, serial_number=normalise_serial(serial))
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    return taken.values_list("merchant_id", flat=True).first()


def serial_taken(*, brand_id: int, serial: str, exclude_pk: int | None = None) -> bool:
    return serial_owner(brand_id=brand_id, serial=serial, exclude_pk=exclude_pk) is not None


class BrandGroupedIterator(forms.models.ModelChoiceIterator):
    """Model choices as one <optgroup> per brand, so a merchant finds the label's brand first."""

    def __iter__(self):  # noqa: ANN204 - yields Django's choice tuples
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for brand, models in groupby(self.queryset, key=lambda m: m.brand):
            yield (brand.name, [self.choice(m) for m in models])


class DeviceModelChoiceField(forms.ModelChoiceField):
    iterator = BrandGroupedIterator

    def label_from_instance(self, obj: DeviceModel) -> str:
        return obj.name


def provider_choices(current_id: int | None, *, acquirers_only: bool = False) -> QuerySet:
    """Active providers, plus the one already chosen so editing never drops it silently."""
    active = Q(active=True)
    if acquirers_only:
        active &= Q(kind__in=Provider.ACQUIRER_KINDS)
    if current_id is not None:
        active |= Q(pk=current_id)
    return Provider.objects.filter(active).order_by("name")


def check_proof_upload(upload: UploadedFile) -> UploadedFile:
    """Accept a PDF or an image by its content (not its name) and store it under our name."""
    if upload.size is not None and upload.size > settings.UPLOAD_MAX_BYTES:
        raise forms.ValidationError(
            _("The file is too large: at most %(mb).0f MB."),
            code="too_large",
            params={"mb": settings.UPLOAD_MAX_BYTES / (1024 * 1024)},
        )
    upload.seek(0)
    head = upload.read(2048)
    upload.seek(0)
    kind = filetype.guess(head)
    if kind is None or kind.mime not in PROOF_MIME_TYPES:
        raise forms.ValidationError(
            _("Upload the receipt or invoice as a PDF or an image (JPEG, PNG or WebP)."),
            code="bad_type",
        )
    # The stored name comes from the detected type; the model adds a random stem.
    upload.name = f"proof.{PROOF_MIME_TYPES[kind.mime]}"
    upload.content_type = kind.mime
    return upload


class DeviceChecks:
    """What both device forms (the merchant's and the admin's) check beyond the model:
    the proof's real type and size, and the database's serial-per-brand rule, with the
    message at the serial field instead of an IntegrityError (the brand is not a field)."""

    def clean_proof_of_purchase(self):  # noqa: ANN201 - the file, False to clear, or None
        upload = self.cleaned_data.get("proof_of_purchase")
        if isinstance(upload, UploadedFile):
            return check_proof_upload(upload)
        return upload

    def check_serial_free(self, cleaned: dict[str, object]) -> None:
        device_model = cleaned.get("model")
        serial = cleaned.get("serial_number")
        if (
            device_model
            and serial
            and not self.has_error("serial_number")
            and serial_taken(
                brand_id=device_model.brand_id, serial=serial, exclude_pk=self.instance.pk
            )
        ):
            self.add_duplicate_serial_error()

    def add_duplicate_serial_error(self) -> None:
        """Also for a duplicate that slipped past clean(): two saves raced for one serial."""
        self.add_error("serial_number", forms.ValidationError(DUPLICATE_SERIAL, code="duplicate"))


class DeviceForm(DeviceChecks, forms.ModelForm):
    model = DeviceModelChoiceField(
        queryset=DeviceModel.objects.select_related("brand").order_by("brand__name", "name"),
        label=_("Model"),
        help_text=_("Printed on the label under the terminal, next to the serial number."),
    )

    class Meta:
        model = Device
        # No warranty end and no void: the merchant claims a warranty by its purchase
        # date and proof; only the provider or an admin sets, extends or voids it
        # (devices.services). A crafted POST with those fields changes nothing.
        fields = [
            "model",
            "serial_number",
            "purchase_date",
            "provider",
            "acquirer",
            "status",
            "location",
            "proof_of_purchase",
        ]
        widgets = {
            "purchase_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }
        help_texts = {
            "serial_number": _("As printed on the label (S/N). Spaces around it are ignored."),
            "purchase_date": _(
                "The date on the receipt. The warranty runs from it; your provider verifies it."
            ),
            "proof_of_purchase": _("A PDF or a photo of the receipt or invoice."),
        }

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["provider"].queryset = provider_choices(self.instance.provider_id)
        self.fields["provider"].help_text = _("Who issued the terminal and repairs it.")
        self.fields["acquirer"].queryset = provider_choices(
            self.instance.acquirer_id, acquirers_only=True
        )
        self.fields["serial_number"].widget.attrs.update(
            {"autocapitalize": "characters", "autocomplete": "off", "spellcheck": "false"}
        )
        self.helper = FormHelper(self)
        self.helper.layout = Layout(
            Fieldset(_("Terminal"), "model", "serial_number", "status", "location"),
            Fieldset(_("Warranty"), "purchase_date", "proof_of_purchase"),
            Fieldset(_("Who services it"), "provider", "acquirer"),
        )
        self.helper.add_input(Submit("save", _("Save terminal")))

    # Set by clean() when the serial is another shop's and this is a new terminal: the
    # view then holds the registration for an admin's check instead of saving it.
    held_for_review = False

    def check_serial_free(self, cleaned: dict[str, object]) -> None:
        device_model = cleaned.get("model")
        serial = cleaned.get("serial_number")
        if not device_model or not serial or self.has_error("serial_number"):
            return
        owner = serial_owner(
            brand_id=device_model.brand_id, serial=serial, exclude_pk=self.instance.pk
        )
        if owner is not None:
            self.serial_taken_by(owner)

    def serial_taken_by(self, merchant_id: int) -> None:
        """The serial is on a terminal of `merchant_id`: the shop's own duplicate is named;
        another shop's is never revealed (a new registration waits for an admin)."""
        if merchant_id == self.instance.merchant_id:
            self.add_duplicate_serial_error()
        elif self.instance.pk is None:
            self.held_for_review = True
        else:
            self.add_error(
                "serial_number", forms.ValidationError(SERIAL_NEEDS_SUPPORT, code="support")
            )

    def clean_serial_number(self) -> str:
        serial = normalise_serial(self.cleaned_data["serial_number"])
        if not serial:
            raise forms.ValidationError(_("Enter the serial number."), code="required")
        # Here, not only at the model: check_serial_free looks the serial up in clean().
        refuse_card_number(serial)
        refuse_control_characters(serial)
        validate_serial(serial)
        return serial

    def clean_purchase_date(self):  # noqa: ANN201 - date | None
        purchase_date = self.cleaned_data.get("purchase_date")
        validate_purchase_date(purchase_date)
        return purchase_date

    def clean(self) -> dict[str, object]:
        cleaned = super().clean()
        self.check_serial_free(cleaned)
        return cleaned

    def _post_clean(self) -> None:
        # The warranty end follows from the claim before the model's own checks run: the
        # old end before a corrected purchase date would otherwise be refused.
        try:
            construct_instance(self, self.instance, self._meta.fields, self._meta.exclude)
        except forms.ValidationError as error:
            self._update_errors(error)
        merchant_saved(self.instance, self.changed_data, creating=self.instance._state.adding)
        super()._post_clean()


class DeviceSearchForm(forms.Form):
    """The terminal list's search box, read from the query string."""

    q = forms.CharField(
        label=_("Serial number"),
        required=False,
        max_length=64,
        validators=[refuse_card_number, refuse_control_characters],
    )

    def query(self) -> str:
        """The serial to look for: what was typed, or "" when it was refused."""
        if not self.is_valid():
            return ""
        return normalise_serial(self.cleaned_data["q"])


class ImportUploadForm(forms.Form):
    file = forms.FileField(label=_("CSV file"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].widget.attrs["accept"] = ".csv,text/csv"
        # Formatted here, per request, so it is in the user's language.
        self.fields["file"].help_text = _(
            "UTF-8, comma-separated, with a header row. At most %(rows)s rows."
        ) % {"rows": f"{importer.MAX_ROWS:,}"}
        self.helper = FormHelper(self)
        self.helper.add_input(Submit("preview", _("Check the file")))

    def clean_file(self) -> str:
        """The file's text: refused here when it is too big or not UTF-8."""
        upload = self.cleaned_data["file"]
        if upload.size is not None and upload.size > importer.MAX_BYTES:
            raise forms.ValidationError(importer.too_big_message(), code="too_large")
        try:
            return importer.decode(upload.read(importer.MAX_BYTES + 1))
        except importer.CsvRejected as exc:
            raise forms.ValidationError(str(exc), code="rejected") from exc


# Warranty: the provider's side, and the merchant's proof on a ticket ----------------------


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class WarrantyVerifyForm(forms.Form):
    """A technician vouches for the claim, correcting or extending the end if needed."""

    warranty_end = forms.DateField(
        label=_("Warranty end"),
        widget=_date_input(),
        validators=[validate_warranty_end],
        help_text=_("As the proof or your records show it; correct or extend it here."),
    )
    source = forms.ChoiceField(
        label=_("Checked against"),
        choices=[
            (WarrantySource.PROOF, WarrantySource.PROOF.label),
            (WarrantySource.RECORDS, WarrantySource.RECORDS.label),
            (WarrantySource.REGISTER, WarrantySource.REGISTER.label),
        ],
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=200,
        validators=[refuse_card_number, refuse_control_characters],
    )


class WarrantyRejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Why the claim does not hold (the merchant reads this)"),
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 2}),
        validators=[refuse_card_number, refuse_control_characters_in_text],
        help_text=_("E.g. the receipt is dated 2023-04-02, or it is for another terminal."),
    )


class WarrantySetForm(forms.Form):
    """The provider's own record of a terminal's warranty: end date and void."""

    warranty_end = forms.DateField(
        label=_("Warranty end"),
        required=False,
        widget=_date_input(),
        validators=[validate_warranty_end],
    )
    void = forms.BooleanField(label=_("Warranty void"), required=False)
    void_reason = forms.CharField(
        label=_("Why it is void"),
        required=False,
        max_length=200,
        validators=[refuse_card_number, refuse_control_characters],
        help_text=_("Required when void, e.g. liquid damage, opened by a third party."),
    )

    def clean(self) -> dict[str, object]:
        cleaned = super().clean()
        if cleaned.get("void") and not (cleaned.get("void_reason") or "").strip():
            self.add_error("void_reason", _("Say why the warranty is void."))
        return cleaned


class ProofForm(forms.Form):
    """The merchant sends the proof of purchase from the ticket page."""

    proof = forms.FileField(
        label=_("Proof of purchase"),
        help_text=_("A photo or PDF of the receipt or invoice, at most 10 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/*"}),
    )
    purchase_date = forms.DateField(
        label=_("Date on the receipt"), required=False, widget=_date_input()
    )

    def clean_proof(self) -> UploadedFile:
        return check_proof_upload(self.cleaned_data["proof"])

    def clean_purchase_date(self):  # noqa: ANN201 - date | None
        purchase_date = self.cleaned_data.get("purchase_date")
        validate_purchase_date(purchase_date)
        return purchase_date
