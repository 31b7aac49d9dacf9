from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from webhooks import http
from webhooks.models import Endpoint, Event


class EndpointForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        label=gettext_lazy("Events"),
        choices=Event.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": gettext_lazy("Choose at least one event.")},
    )

    class Meta:
        model = Endpoint
        fields = ["url", "description", "events", "active"]
        help_texts = {
            "url": gettext_lazy(
                "Your system's address that receives the events (https:// recommended). "
                "Addresses inside private networks are refused."
            ),
        }

    def __init__(self, *args: object, provider_id: int, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.instance.provider_id = provider_id
        self.provider_id = provider_id

    def clean_url(self) -> str:
        url = self.cleaned_data["url"].strip()
        try:
            http.check_url(url)
        except http.Refused as error:
            raise ValidationError(str(error), code="refused") from None
        taken = Endpoint.objects.filter(provider_id=self.provider_id, url=url)
        if self.instance.pk:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise ValidationError(_("This URL is already registered."), code="taken")
        return url

    def clean_events(self) -> list[str]:
        # In the order of the list, whatever order the browser sent them in.
        chosen = set(self.cleaned_data["events"])
        return [value for value in Event.values if value in chosen]
