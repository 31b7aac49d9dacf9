"""The e-mail settings forms (issue 18): which notifications a person wants."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.models import User


class TechnicianNotificationsForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["notify_arrivals", "digest_minutes"]
        widgets = {"notify_arrivals": forms.RadioSelect}
        help_texts = {
            "digest_minutes": _(
                "With a digest: how often, in minutes (5 to 1440). Nothing is sent when "
                "nothing arrived."
            )
        }


class ShopNotificationsForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["notify_shop_updates"]
        widgets = {"notify_shop_updates": forms.RadioSelect}
