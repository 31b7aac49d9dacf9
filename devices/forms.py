"""Forms of the device pages: register or edit a terminal, upload a CSV to import."""

from __future__ import annotations

from itertools import groupby

import filetype
from crispy_forms.helper import FormHelper
from crispy_forms.layout import Div, Fieldset, Layout, Submit
from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from devices import importer
from devices.models import Device, DeviceModel, Provider, normalise_serial

# Proof of purchase: what a receipt or an invoice is, recognised by its first bytes.
PROOF_MIME_TYPES = {
    "application/pdf": "pdf",
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
}

DUPLICATE_SERIAL = _("A terminal of this brand with this serial number is already registered.")


def serial_taken(*, brand_id: int, serial: str, exclude_pk: int | None = None) -> bool:
    """Serials are unique per brand across the whole platform (the database says so too)."""
    taken = Device.objects.filter(brand_id=brand_id, serial_number=normalise_serial(serial))
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    return taken.exists()


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
        fields = [
            "model",
            "serial_number",
            "purchase_date",
            "warranty_end",
            "warranty_void",
            "warranty_void_reason",
            "provider",
            "acquirer",
            "status",
            "location",
            "proof_of_purchase",
        ]
        widgets = {
            "purchase_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "warranty_end": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }
        help_texts = {
            "serial_number": _("As printed on the label (S/N). Spaces around it are ignored."),
            "warranty_void_reason": _("Required when the warranty is void, e.g. liquid damage."),
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
            Fieldset(
                _("Warranty"),
                Div(
                    Div("purchase_date", css_class="col-12 col-sm-6"),
                    Div("warranty_end", css_class="col-12 col-sm-6"),
                    css_class="row",
                ),
                "warranty_void",
                "warranty_void_reason",
                "proof_of_purchase",
            ),
            Fieldset(_("Who services it"), "provider", "acquirer"),
        )
        self.helper.add_input(Submit("save", _("Save terminal")))

    def clean_serial_number(self) -> str:
        serial = normalise_serial(self.cleaned_data["serial_number"])
        if not serial:
            raise forms.ValidationError(_("Enter the serial number."), code="required")
        return serial

    def clean_purchase_date(self):  # noqa: ANN201 - date | None
        purchase_date = self.cleaned_data.get("purchase_date")
        if purchase_date and purchase_date > timezone.localdate():
            raise forms.ValidationError(
                _("The purchase date cannot be in the future."), code="future"
            )
        return purchase_date

    def clean(self) -> dict[str, object]:
        cleaned = super().clean()
        self.check_serial_free(cleaned)
        purchase_date = cleaned.get("purchase_date")
        warranty_end = cleaned.get("warranty_end")
        if purchase_date and warranty_end and warranty_end < purchase_date:
            self.add_error(
                "warranty_end",
                forms.ValidationError(
                    _("The warranty cannot end before the purchase date."), code="before_purchase"
                ),
            )
        if cleaned.get("warranty_void") and not (cleaned.get("warranty_void_reason") or "").strip():
            self.add_error(
                "warranty_void_reason",
                forms.ValidationError(_("Say why the warranty is void."), code="required"),
            )
        return cleaned


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
