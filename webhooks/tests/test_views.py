"""The webhook pages: a provider's managers only; anyone else gets a 404."""

from __future__ import annotations

import pytest
from django.urls import reverse

from devices.models import Membership
from tests.factories import queued_ticket
from tickets import workflow
from webhooks.models import Delivery, DeliveryAttempt, Endpoint, Event

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("loopback_allowed")]


@pytest.fixture
def manager(world):  # noqa: ANN001, ANN201
    Membership.objects.filter(user=world.xavier).update(manager=True)
    world.xavier.refresh_from_db()
    return world.xavier


@pytest.fixture
def y_manager(world):  # noqa: ANN001, ANN201
    Membership.objects.filter(user=world.yuri).update(manager=True)
    return world.yuri


def _endpoint(world, url: str = "http://127.0.0.1:9/hook") -> Endpoint:  # noqa: ANN001
    return Endpoint.objects.create(
        provider=world.provider_x, url=url, events=[Event.MERCHANT_REPLIED]
    )


def _delivery(endpoint: Endpoint) -> Delivery:
    delivery = Delivery.objects.create(
        endpoint=endpoint, event=Event.MERCHANT_REPLIED, source="test:1", body='{"id": 1}'
    )
    DeliveryAttempt.objects.create(
        delivery=delivery, status_code=500, duration_ms=12, response="upstream down"
    )
    return delivery


def test_a_manager_registers_an_endpoint_and_sees_its_secret_once(world, manager, as_user) -> None:
    client = as_user(manager)
    response = client.post(
        reverse("webhooks:new"),
        {
            "url": "http://127.0.0.1:8080/posdesk",
            "description": "Our CRM",
            "events": [Event.TICKET_RESOLVED, Event.TICKET_ROUTED],
            "active": "on",
        },
    )
    endpoint = Endpoint.objects.get()
    assert response.status_code == 302
    assert response.url == endpoint.get_absolute_url()
    assert endpoint.provider == world.provider_x
    assert endpoint.created_by == manager
    assert endpoint.events == [Event.TICKET_ROUTED, Event.TICKET_RESOLVED]

    first = client.get(endpoint.get_absolute_url())
    assert endpoint.secret in first.content.decode()
    assert first["Cache-Control"] == "no-store"
    again = client.get(endpoint.get_absolute_url())
    assert again.status_code == 200
    assert endpoint.secret not in again.content.decode()
    assert "Our CRM" in client.get(reverse("webhooks:list")).content.decode()


def test_a_private_url_is_refused_in_the_form(world, manager, as_user) -> None:
    response = as_user(manager).post(
        reverse("webhooks:new"),
        {"url": "http://192.168.1.20/hook", "events": [Event.TICKET_ROUTED]},
    )
    assert response.status_code == 400
    assert "PosDesk only calls public ones" in response.content.decode()
    assert not Endpoint.objects.exists()


def test_an_endpoint_needs_an_event(world, manager, as_user) -> None:
    response = as_user(manager).post(reverse("webhooks:new"), {"url": "http://127.0.0.1/hook"})
    assert response.status_code == 400
    assert "Choose at least one event." in response.content.decode()


def test_a_new_secret_replaces_the_old_one(world, manager, as_user) -> None:
    endpoint = _endpoint(world)
    old = endpoint.secret
    client = as_user(manager)
    response = client.post(reverse("webhooks:rotate", args=[endpoint.pk]))
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.secret != old
    assert endpoint.secret in client.get(endpoint.get_absolute_url()).content.decode()


def test_the_delivery_log_shows_attempts_and_redelivers(
    world, manager, as_user, receiver, django_capture_on_commit_callbacks
) -> None:
    endpoint = _endpoint(world, receiver.url)
    receiver.answers = [500]
    with django_capture_on_commit_callbacks(execute=True):
        workflow.merchant_reply(queued_ticket(world.device_a), world.alice, "Hello?")
    delivery = Delivery.objects.get()
    client = as_user(manager)
    log = client.get(endpoint.get_absolute_url()).content.decode()
    assert "HTTP 500" in log
    assert "1 attempt" in log
    page = client.get(reverse("webhooks:delivery", args=[delivery.pk])).content.decode()
    assert "oops" in page  # the response excerpt
    assert " ms" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("webhooks:redeliver", args=[delivery.pk]))
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.DELIVERED, 2)
    assert (
        "HTTP 200" in client.get(reverse("webhooks:delivery", args=[delivery.pk])).content.decode()
    )


def test_the_log_filters_by_an_allowed_status_only(world, manager, as_user) -> None:
    endpoint = _endpoint(world)
    _delivery(endpoint)
    client = as_user(manager)
    url = endpoint.get_absolute_url()
    assert "Merchant replied" in client.get(url, {"status": "pending"}).content.decode()
    assert "No deliveries yet." in client.get(url, {"status": "delivered"}).content.decode()
    assert client.get(url, {"status": "endpoint__secret"}).status_code == 200


def _urls(endpoint: Endpoint, delivery: Delivery) -> list[tuple[str, str]]:
    return [
        ("get", reverse("webhooks:list")),
        ("get", reverse("webhooks:new")),
        ("get", endpoint.get_absolute_url()),
        ("get", reverse("webhooks:edit", args=[endpoint.pk])),
        ("post", reverse("webhooks:rotate", args=[endpoint.pk])),
        ("post", reverse("webhooks:delete", args=[endpoint.pk])),
        ("get", reverse("webhooks:delivery", args=[delivery.pk])),
        ("post", reverse("webhooks:redeliver", args=[delivery.pk])),
    ]


def test_it_validates_ownership(world, manager, y_manager, as_user) -> None:
    """Another provider's manager, a technician who is not a manager, a merchant and an
    admin without a membership get a 404 for everything; nothing changes."""
    endpoint = _endpoint(world)
    delivery = _delivery(endpoint)
    secret = endpoint.secret
    for outsider in (world.yuri, world.xena, world.alice, world.admin):
        client = as_user(outsider)
        for method, url in _urls(endpoint, delivery):
            if outsider == world.yuri and url in (
                reverse("webhooks:list"),
                reverse("webhooks:new"),
            ):
                continue  # Y's own (empty) pages
            response = getattr(client, method)(url)
            assert response.status_code == 404, (outsider, url)
    endpoint.refresh_from_db()
    assert endpoint.secret == secret
    assert Delivery.objects.get().attempts == 0
    # Y's manager sees only Y's endpoints.
    listing = as_user(world.yuri).get(reverse("webhooks:list"))
    assert listing.status_code == 200
    assert endpoint.url not in listing.content.decode()


def test_an_anonymous_visitor_is_sent_to_log_in(world) -> None:  # noqa: ANN001
    from django.test import Client

    response = Client().get(reverse("webhooks:list"))
    assert response.status_code == 302
    assert "login" in response.url


def test_the_menu_shows_webhooks_to_managers_only(world, manager, as_user) -> None:
    link = reverse("webhooks:list")
    assert link in as_user(manager).get(reverse("tickets:work")).content.decode()
    assert link not in as_user(world.xena).get(reverse("tickets:work")).content.decode()
