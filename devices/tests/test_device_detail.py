from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from conftest import World
from tests.factories import TicketFactory


def url(pk: int) -> str:
    return reverse("devices:detail", args=[pk])


def test_it_shows_the_warranty_and_the_provider(world: World, as_user) -> None:  # noqa: ANN001
    world.provider_x.hotline = "95588"
    world.provider_x.support_24h = True
    world.provider_x.save()
    world.device_a.warranty_end = timezone.localdate() + timedelta(days=10)
    world.device_a.save()
    response = as_user(world.alice).get(url(world.device_a.pk))
    assert response.status_code == 200
    text = response.text
    assert "In warranty" in text
    assert "10 days left" in text
    assert world.device_a.warranty_end.isoformat() in text
    assert "95588" in text
    assert "24-hour support" in text
    assert f"{reverse('tickets:new')}?device={world.device_a.pk}" in text


def test_it_lists_the_terminals_tickets_newest_first(world: World, as_user) -> None:  # noqa: ANN001
    now = timezone.now()
    old = TicketFactory(
        device=world.device_a, reporter=world.alice, created_at=now - timedelta(days=2)
    )
    new = TicketFactory(device=world.device_a, reporter=world.alice, created_at=now)
    response = as_user(world.alice).get(url(world.device_a.pk))
    assert list(response.context["tickets"]) == [new, old]
    assert new.get_absolute_url() in response.text


def test_it_shows_at_most_20_tickets(world: World, as_user) -> None:  # noqa: ANN001
    TicketFactory.create_batch(21, device=world.device_a, reporter=world.alice)
    response = as_user(world.alice).get(url(world.device_a.pk))
    assert len(response.context["tickets"]) == 20


def test_it_refuses_another_merchants_device(world: World, as_user) -> None:  # noqa: ANN001
    assert as_user(world.bob).get(url(world.device_a.pk)).status_code == 404


def test_it_is_404_for_a_technician_of_the_provider(world: World, as_user) -> None:  # noqa: ANN001
    assert as_user(world.xavier).get(url(world.device_a.pk)).status_code == 404


def test_it_sends_anonymous_visitors_to_log_in(world: World, client) -> None:  # noqa: ANN001
    response = client.get(url(world.device_a.pk))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
