"""`/` sends each role to where its day starts."""

from __future__ import annotations

from django.urls import reverse

from conftest import World
from tests.factories import UserFactory


def test_a_merchant_lands_on_the_shop_home(world: World, as_user) -> None:  # noqa: ANN001
    response = as_user(world.alice).get("/")
    assert response.status_code == 200
    assert response.templates[0].name == "tickets/home.html"


def test_a_technician_goes_to_the_workspace(world: World, as_user) -> None:  # noqa: ANN001
    response = as_user(world.xavier).get("/")
    assert response.status_code == 302
    assert response.url == reverse("tickets:work")


def test_staff_go_to_the_admin(world: World, as_user) -> None:  # noqa: ANN001
    response = as_user(world.admin).get("/")
    assert response.status_code == 302
    assert response.url == reverse("admin:index")


def test_anonymous_visitors_go_to_log_in(db, client) -> None:  # noqa: ANN001
    response = client.get("/")
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next=/"


def test_a_user_without_a_role_is_told_to_ask_an_admin(db, as_user) -> None:  # noqa: ANN001
    response = as_user(UserFactory(username="nobody")).get("/")
    assert response.status_code == 200
    assert "not linked to a merchant or a provider" in response.text


def test_the_login_page_renders(db, client) -> None:  # noqa: ANN001
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert 'name="username"' in response.text
