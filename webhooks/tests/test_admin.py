"""The admin reads endpoints and deliveries and never shows an endpoint's secret."""

from __future__ import annotations

import pytest
from django.urls import reverse

from webhooks.models import Delivery, DeliveryAttempt, Endpoint

pytestmark = pytest.mark.django_db


def test_the_admin_never_shows_the_secret(world, as_user) -> None:  # noqa: ANN001
    endpoint = Endpoint.objects.create(
        provider=world.provider_x, url="https://crm.example.com/hook", events=["ticket.routed"]
    )
    delivery = Delivery.objects.create(
        endpoint=endpoint, event="ticket.routed", source="t:1", body="{}"
    )
    DeliveryAttempt.objects.create(delivery=delivery, status_code=502, response="bad gateway")
    client = as_user(world.admin)
    for url in (
        reverse("admin:webhooks_endpoint_changelist"),
        reverse("admin:webhooks_endpoint_change", args=[endpoint.pk]),
        reverse("admin:webhooks_delivery_changelist"),
        reverse("admin:webhooks_delivery_change", args=[delivery.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert endpoint.secret not in response.content.decode()
    page = client.get(reverse("admin:webhooks_delivery_change", args=[delivery.pk]))
    assert "bad gateway" in page.content.decode()
