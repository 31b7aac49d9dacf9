"""The e-mail settings pages (issue 18, part 2): a technician's and a shop member's."""

from __future__ import annotations

import pytest
from django.urls import reverse

from portal.models import User

pytestmark = pytest.mark.django_db
WORK = reverse("tickets:work_notifications")
SHOP = reverse("tickets:notifications")


def test_a_technician_chooses_a_digest_every_fifteen_minutes(world, as_user) -> None:  # noqa: ANN001
    client = as_user(world.xavier)
    page = client.get(WORK)
    assert page.status_code == 200
    assert "Only P1 tickets" in page.text
    assert f'href="{WORK}"' in page.text  # the menu links it
    response = client.post(WORK, {"notify_arrivals": "digest", "digest_minutes": "15"})
    assert response.status_code == 302
    world.xavier.refresh_from_db()
    assert (world.xavier.notify_arrivals, world.xavier.digest_minutes) == ("digest", 15)
    assert "Your e-mail settings are saved." in client.get(WORK).text


def test_a_digest_more_often_than_five_minutes_is_refused(world, as_user) -> None:  # noqa: ANN001
    data = {"notify_arrivals": "digest", "digest_minutes": "1"}
    response = as_user(world.xavier).post(WORK, data)
    assert response.status_code == 200
    assert "invalid-feedback" in response.text
    world.xavier.refresh_from_db()
    assert world.xavier.notify_arrivals == User.Arrivals.EVERY


def test_a_shop_member_chooses_every_update(world, as_user) -> None:  # noqa: ANN001
    client = as_user(world.alice)
    _prefer = User.objects.filter(pk=world.alice.pk).update
    _prefer(notify_shop_updates=User.ShopUpdates.KEY)
    page = client.get(SHOP)
    assert page.status_code == 200
    assert f'href="{SHOP}"' in page.text
    assert client.post(SHOP, {"notify_shop_updates": "every"}).status_code == 302
    world.alice.refresh_from_db()
    assert world.alice.notify_shop_updates == User.ShopUpdates.EVERY


@pytest.mark.parametrize(("url", "who"), [(WORK, "alice"), (WORK, "admin"), (SHOP, "xavier")])
def test_it_is_a_404_for_anyone_without_that_role(world, as_user, url: str, who: str) -> None:  # noqa: ANN001
    assert as_user(getattr(world, who)).get(url).status_code == 404
    assert as_user(getattr(world, who)).post(url, {}).status_code == 404


def test_it_needs_a_log_in(client) -> None:  # noqa: ANN001
    assert client.get(SHOP).status_code == 302
    assert client.get(WORK).status_code == 302
