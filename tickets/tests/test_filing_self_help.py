"""The first-line checks: "That fixed it" ends without a ticket and is counted."""

from __future__ import annotations

import pytest
from django.db.models import Count
from django.urls import reverse

from tickets.models import Category, SelfHelpCheck, SelfHelpSuccess, Ticket
from tickets.tests.filing_helpers import filing_data

pytestmark = pytest.mark.django_db
URL = reverse("tickets:new")


def test_that_fixed_it_files_no_ticket_and_counts(world, as_user) -> None:
    data = filing_data(
        world.device_a,
        Category.NETWORK,
        action="fixed",
        checks_tried=["router"],
        # The rest of the form may be empty: the fault is gone.
        description="",
        symptom="",
        callback_phone="",
    )
    response = as_user(world.alice).post(URL, data, follow=True)
    assert Ticket.objects.count() == 0
    success = SelfHelpSuccess.objects.get()
    assert success.category == Category.NETWORK
    assert success.checks == ["router"]
    assert success.merchant == world.merchant_a
    assert success.device == world.device_a
    assert success.user == world.alice
    assert "Glad it works again" in response.text


def test_successes_are_counted_per_category(world, as_user) -> None:
    client = as_user(world.alice)
    for category in (Category.NETWORK, Category.NETWORK, Category.HARDWARE):
        client.post(URL, filing_data(world.device_a, category, action="fixed"))
    counts = dict(SelfHelpSuccess.objects.values_list("category").annotate(n=Count("id")))
    assert counts == {"network": 2, "hardware": 1}


def test_the_checks_ticked_are_saved_on_the_ticket(world, as_user) -> None:
    as_user(world.alice).post(
        URL, filing_data(world.device_a, checks_tried=["power-cable", "restart"])
    )
    assert Ticket.objects.get().checks_tried == ["power-cable", "restart"]


def test_a_check_of_another_category_is_refused(world, as_user) -> None:
    response = as_user(world.alice).post(
        URL, filing_data(world.device_a, Category.HARDWARE, checks_tried=["router"])
    )
    assert Ticket.objects.count() == 0
    assert response.context["form"].errors["checks_tried"]


def test_inactive_checks_are_not_offered(world, as_user) -> None:
    SelfHelpCheck.objects.filter(category=Category.HARDWARE, code="paper").update(active=False)
    response = as_user(world.alice).get(
        URL, {"device": world.device_a.pk, "category": Category.HARDWARE}
    )
    assert "Paper roll loaded" not in response.text
    assert "Restarted the terminal" in response.text
