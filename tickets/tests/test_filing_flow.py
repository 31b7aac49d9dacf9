"""The filing page as a shop owner meets it (issue 12): the symptom first, then only the
checks that fit it, in the reader's language; a payment taken without a sale is urgent."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from conftest import World
from tickets.models import Priority, SelfHelpCheck, Ticket, priority_for

pytestmark = pytest.mark.django_db


def _page(as_user, world: World, category: str, language: str = "en") -> str:  # noqa: ANN001
    url = reverse("tickets:new")
    response = as_user(world.alice).get(
        url,
        {"device": world.device_a.pk, "category": category},
        headers={"accept-language": language},
    )
    assert response.status_code == 200
    return response.content.decode()


def test_the_symptom_comes_before_the_checks(world: World, as_user) -> None:  # noqa: ANN001
    page = _page(as_user, world, "hardware")
    assert page.index('id="step-symptom"') < page.index('id="step-checks"')
    assert page.index('name="symptom"') < page.index('name="checks_tried"')


def test_each_check_says_which_symptoms_it_fits(world: World, as_user) -> None:  # noqa: ANN001
    page = _page(as_user, world, "hardware")
    paper = SelfHelpCheck.objects.get(category="hardware", code="paper")
    assert paper.symptoms == ["printer"]
    assert 'data-symptoms="printer"' in page
    assert paper.fits("printer")
    assert not paper.fits("screen")


def test_the_checks_speak_the_readers_language(world: World, as_user) -> None:  # noqa: ANN001
    assert "已重启终端" in _page(as_user, world, "hardware", "zh-hans")
    assert "Restarted the terminal" in _page(as_user, world, "hardware", "en")


def test_a_ticked_check_is_shown_in_the_readers_language(world: World) -> None:
    ticket = Ticket(category="hardware", checks_tried=["restart"])
    with translation.override("zh-hans"):
        assert ticket.checks_tried_texts() == ["已重启终端"]
    with translation.override("en"):
        assert ticket.checks_tried_texts() == ["Restarted the terminal"]


@pytest.mark.parametrize(
    ("payments", "symptom", "priority"),
    [
        ("yes", "charged_not_completed", Priority.P2),
        ("degraded", "charged_not_completed", Priority.P2),
        ("no", "charged_not_completed", Priority.P1),
        ("yes", "refund", Priority.P3),
        ("yes", "printer", Priority.P3),
    ],
)
def test_a_customer_charged_without_a_sale_is_at_least_p2(
    payments: str, symptom: str, priority: int
) -> None:
    assert priority_for(payments, symptom) == priority


def test_a_check_names_only_symptoms_of_its_category() -> None:
    from django.core.exceptions import ValidationError

    check = SelfHelpCheck(category="hardware", code="x", text="X", symptoms=["wifi"])
    with pytest.raises(ValidationError, match="Not a symptom of this category"):
        check.clean()
    check.symptoms = ["printer"]
    check.clean()


def test_a_payment_fault_says_what_to_do_meanwhile_in_the_shops_language(
    world: World,
    as_user,  # noqa: ANN001
) -> None:
    from tests.factories import queued_ticket

    ticket = queued_ticket(
        world.device_a,
        kind="transaction_support",
        reporter=world.alice,
        category="transaction",
        symptom="charged_not_completed",
    )
    client = as_user(world.alice)
    english = client.get(ticket.get_absolute_url(), headers={"accept-language": "en"}).text
    chinese = client.get(ticket.get_absolute_url(), headers={"accept-language": "zh-hans"}).text
    assert "card again for this sale" in english
    assert "请不要再次刷顾客的卡" in chinese
    hardware = queued_ticket(world.device_a, reporter=world.alice)
    assert 'id="advice"' not in client.get(hardware.get_absolute_url()).text
