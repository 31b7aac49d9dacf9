"""The key page's form: a name and a scope."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from api.models import ApiKey
from portal.validators import refuse_control_characters
from tickets.pci import refuse_card_number


class KeyForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=80,
        help_text=_("What uses the key, e.g. “CRM sync”."),
        validators=[refuse_card_number, refuse_control_characters],
    )
    scope = forms.ChoiceField(
        label=_("Scope"),
        choices=ApiKey.Scope.choices,
        initial=ApiKey.Scope.READ,
        widget=forms.RadioSelect,
        help_text=_("A read key can never change anything."),
    )


class RevokeForm(forms.Form):
    key = forms.IntegerField(min_value=1)
