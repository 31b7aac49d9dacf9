"""How the schema describes the API key, and a cursor page of results."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers


class KeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "api.auth.KeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key from the “API keys” page: `Bearer pd_…`.",
        }


def paged(name: str, item: type[serializers.Serializer]) -> serializers.Serializer:
    """A cursor page: `next` and `previous` are URLs (or null), `results` the items."""
    return inline_serializer(
        name,
        {
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": item(many=True),
        },
    )
