from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tickets.canned import PLACEHOLDERS, unknown_placeholders
from tickets.models import CannedReply

PLACEHOLDER_HELP = gettext_lazy(
    "Placeholders filled in for each ticket: {merchant}, {reference}, {hotline}, {technician}."
)


class CannedReplyForm(forms.ModelForm):
    class Meta:
        model = CannedReply
        fields = ["title", "body", "body_zh_hans"]
        widgets = {
            "body": forms.Textarea(attrs={"rows": 5}),
            "body_zh_hans": forms.Textarea(attrs={"rows": 5}),
        }
        help_texts = {"body": PLACEHOLDER_HELP, "body_zh_hans": PLACEHOLDER_HELP}

    def __init__(self, *args: object, provider_id: int, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.instance.provider_id = provider_id

    def _clean_text(self, name: str) -> str:
        text = self.cleaned_data[name].strip()
        unknown = unknown_placeholders(text)
        if unknown:
            raise ValidationError(
                _("Unknown placeholder: %(names)s. Use %(known)s.")
                % {
                    "names": ", ".join(f"{{{n}}}" for n in unknown),
                    "known": ", ".join(f"{{{n}}}" for n in PLACEHOLDERS),
                }
            )
        return text

    def clean_body(self) -> str:
        return self._clean_text("body")

    def clean_body_zh_hans(self) -> str:
        return self._clean_text("body_zh_hans")

    def clean(self) -> dict:
        data = super().clean()
        if not data.get("body") and not data.get("body_zh_hans") and not self.errors:
            raise ValidationError(_("Write the text in English or Chinese."))
        return data

    def validate_constraints(self) -> None:
        # canned_reply_has_text is clean()'s "Write the text in English or Chinese.";
        # Django's own message for it would show the reader the constraint's name.
        exclude = self._get_validation_exclusions() | {"body", "body_zh_hans"}
        try:
            self.instance.validate_constraints(exclude=exclude)
        except ValidationError as error:
            self._update_errors(error)

    def validate_unique(self) -> None:
        # provider is not a form field: check the title's uniqueness within it ourselves.
        title = self.cleaned_data.get("title")
        if title is None:
            return
        clash = CannedReply.objects.filter(provider_id=self.instance.provider_id, title=title)
        if self.instance.pk:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            self.add_error("title", _("Your provider already has a canned reply of that title."))
