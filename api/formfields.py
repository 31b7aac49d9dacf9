"""The request bodies the schema documents, read off the Django forms that validate them.

The API validates with the web's own forms (the warranty rules of DeviceForm, the action
forms of WORK_ACTIONS, the filing form), so there is one set of rules. The schema needs
DRF serializers to describe the bodies: `serializer_for` builds one from a form's fields,
so the documentation cannot drift from what is checked.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django import forms
from rest_framework import serializers


def _field(field: forms.Field) -> serializers.Field:
    common: dict[str, Any] = {
        "required": field.required,
        "help_text": str(field.help_text or field.label or ""),
    }
    if isinstance(field, forms.ModelMultipleChoiceField):
        return serializers.ListField(child=serializers.IntegerField(), **common)
    if isinstance(field, forms.ModelChoiceField):
        return serializers.IntegerField(**common)
    if isinstance(field, forms.MultipleChoiceField):
        return serializers.ListField(child=serializers.CharField(), **common)
    if isinstance(field, forms.TypedChoiceField):
        return serializers.CharField(**common)
    if isinstance(field, forms.ChoiceField):
        choices = [value for value, _label in field.choices if value != ""]
        return (
            serializers.ChoiceField(choices=choices, **common)
            if choices
            else serializers.CharField(**common)
        )
    if isinstance(field, forms.DecimalField):
        return serializers.DecimalField(
            max_digits=field.max_digits, decimal_places=field.decimal_places, **common
        )
    if isinstance(field, forms.IntegerField):
        return serializers.IntegerField(**common)
    if isinstance(field, forms.BooleanField):
        return serializers.BooleanField(required=False, help_text=common["help_text"])
    if isinstance(field, forms.DateTimeField):
        return serializers.DateTimeField(**common)
    if isinstance(field, forms.DateField):
        return serializers.DateField(**common)
    if isinstance(field, forms.UUIDField):
        return serializers.UUIDField(**common)
    if isinstance(field, forms.FileField):
        return serializers.FileField(**common)
    max_length = getattr(field, "max_length", None)
    return serializers.CharField(max_length=max_length, **common)


@cache
def serializer_for(
    form_class: type[forms.Form], name: str, exclude: tuple[str, ...] = ()
) -> type[serializers.Serializer]:
    """A serializer class named `name` with one field per field of `form_class`."""
    fields = {
        field_name: _field(field)
        for field_name, field in form_class.base_fields.items()
        if field_name not in exclude
    }
    return type(name, (serializers.Serializer,), fields)
