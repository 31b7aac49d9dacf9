"""Limits on what people send (tickets.limits): tickets per shop, messages and files per
person, one open ticket per terminal and fault. Each refusal answers 429 (409 for the
duplicate) with the reason next to the form and everything typed kept."""

from __future__ import annotations

import re
import threading

import pytest
from django.db import connection
from django.urls import reverse

from conftest import World
from tests.factories import DeviceFactory, queued_ticket
from tickets import services
from tickets.models import Category, Ticket
from tickets.tests.filing_helpers import filing_data, png

pytestmark = pytest.mark.django_db
URL = reverse("tickets:new")
THREADS = 6


@pytest.fixture
def media_root(settings, tmp_path):  # noqa: ANN001, ANN201
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def small_limits(settings) -> None:  # noqa: ANN001
    settings.RATE_LIMIT_FILING = (2, 600)
    settings.RATE_LIMIT_REPLIES = (2, 600)
    settings.RATE_LIMIT_UPLOADS = (3, 3600)


def terminals(world: World, n: int) -> list:
    return [DeviceFactory(merchant=world.merchant_a, provider=world.provider_x) for _ in range(n)]


# Filing ---------------------------------------------------------------------------------------


def test_filing_over_the_shops_limit_answers_429_and_keeps_the_form(
    world: World,
    as_user,  # noqa: ANN001
    small_limits: None,
) -> None:
    client = as_user(world.alice)
    first, second, third = terminals(world, 3)
    assert client.post(URL, filing_data(first)).status_code == 302
    assert client.post(URL, filing_data(second)).status_code == 302

    data = filing_data(third, description="Keypad dead since the storm.")
    response = client.post(URL, data)

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Your shop has filed 2 tickets within 10 minutes" in response.text
    assert "Keypad dead since the storm." in response.text  # what was typed is kept
    assert Ticket.objects.count() == 2


def test_the_limit_is_per_shop(world: World, as_user, small_limits: None) -> None:  # noqa: ANN001
    for device in terminals(world, 2):
        as_user(world.alice).post(URL, filing_data(device))
    assert as_user(world.bob).post(URL, filing_data(world.device_b)).status_code == 302


def test_a_report_sent_twice_counts_once(world: World, as_user, small_limits: None) -> None:  # noqa: ANN001
    client = as_user(world.alice)
    first, second = terminals(world, 2)
    data = filing_data(first)
    client.post(URL, data)
    client.post(URL, data)  # a double click: the same ticket, not a second use
    assert client.post(URL, filing_data(second)).status_code == 302


def test_a_report_already_filed_still_lands_on_its_ticket_at_the_limit(
    world: World,
    as_user,  # noqa: ANN001
    small_limits: None,
) -> None:
    client = as_user(world.alice)
    first, second = terminals(world, 2)
    data = filing_data(first)
    client.post(URL, data)
    client.post(URL, filing_data(second))

    response = client.post(URL, data)  # the first report again, with the limit reached

    assert response.status_code == 302
    assert response.url == Ticket.objects.get(device=first).get_absolute_url()


def test_the_files_of_a_filing_count_against_the_users_uploads(
    world: World,
    as_user,  # noqa: ANN001
    small_limits: None,
    media_root,  # noqa: ANN001
) -> None:
    client = as_user(world.alice)
    first, second = terminals(world, 2)
    files = [png("a.png"), png("b.png")]
    assert client.post(URL, {**filing_data(first), "attachments": files}).status_code == 302

    response = client.post(
        URL, {**filing_data(second), "attachments": [png("c.png"), png("d.png")]}
    )

    assert response.status_code == 429
    assert "You have sent 3 files within 1 hour" in response.text
    assert "Choose the attachments again." in response.text
    # The refused filing gave its count back: one without files still goes through.
    assert client.post(URL, filing_data(second)).status_code == 302


# One open ticket per terminal and fault ------------------------------------------------------


def test_a_second_report_of_an_open_fault_is_refused_with_a_link(world: World, as_user) -> None:  # noqa: ANN001
    client = as_user(world.alice)
    client.post(URL, filing_data(world.device_a))
    first = Ticket.objects.get()

    response = client.post(URL, filing_data(world.device_a, description="Still dark, now 2 days."))

    assert response.status_code == 409
    assert f'<a href="{first.get_absolute_url()}">{first.reference}</a>' in response.text
    assert "Still dark, now 2 days." in response.text
    assert Ticket.objects.count() == 1


def test_the_shop_may_still_file_a_separate_ticket_for_an_open_fault(world: World, as_user) -> None:  # noqa: ANN001
    client = as_user(world.alice)
    client.post(URL, filing_data(world.device_a))
    first = Ticket.objects.get()
    offered = client.post(
        URL, filing_data(world.device_a, description="A second till, same fault.")
    )
    assert f"Add this to {first.reference} instead" in offered.text
    assert 'value="file_anyway"' in offered.text

    response = client.post(
        URL,
        filing_data(world.device_a, description="A second till, same fault.", action="file_anyway"),
    )
    assert response.status_code == 302
    assert Ticket.objects.count() == 2


def test_another_fault_of_the_same_terminal_is_filed(world: World, as_user) -> None:  # noqa: ANN001
    client = as_user(world.alice)
    client.post(URL, filing_data(world.device_a))
    response = client.post(URL, filing_data(world.device_a, symptom="printer"))
    assert response.status_code == 302
    assert Ticket.objects.count() == 2


def test_the_fault_can_be_reported_again_once_its_ticket_is_closed(world: World, as_user) -> None:  # noqa: ANN001
    client = as_user(world.alice)
    client.post(URL, filing_data(world.device_a))
    Ticket.objects.update(status=Ticket.Status.CLOSED)
    assert client.post(URL, filing_data(world.device_a)).status_code == 302
    assert Ticket.objects.count() == 2


def test_a_double_click_still_answers_the_first_ticket(world: World, as_user) -> None:  # noqa: ANN001
    client = as_user(world.alice)
    data = filing_data(world.device_a)
    client.post(URL, data)
    response = client.post(URL, data, follow=True)
    assert response.redirect_chain[-1][0] == Ticket.objects.get().get_absolute_url()
    assert "This report was already sent" in response.text


def test_the_service_refuses_the_duplicate_whoever_calls_it(world: World) -> None:
    kwargs = {
        "merchant": world.merchant_a,
        "device": world.device_a,
        "reporter": world.alice,
        "category": Category.HARDWARE,
        "symptom": "screen",
        "can_take_payments": "no",
        "description": "Dark",
        "callback_phone": "123456",
    }
    first, _created = services.file_ticket(**kwargs)
    with pytest.raises(services.AlreadyOpen) as refused:
        services.file_ticket(**kwargs)
    assert refused.value.ticket.pk == first.pk


@pytest.mark.django_db(transaction=True)
def test_parallel_reports_of_one_fault_file_one_ticket(world: World) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the race needs a real concurrent database")
    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = []

    def file_one(n: int) -> None:
        try:
            barrier.wait(timeout=10)
            services.file_ticket(
                merchant=world.merchant_a,
                device=world.device_a,
                reporter=world.alice,
                category=Category.HARDWARE,
                symptom="screen",
                can_take_payments="no",
                description=f"Two tabs, report {n}",
                callback_phone="123456",
            )
            outcomes.append("filed")
        except services.AlreadyOpen:
            outcomes.append("already open")
        except BaseException as error:  # noqa: BLE001 - reported below
            outcomes.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=file_one, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["already open"] * (THREADS - 1) + ["filed"]
    assert Ticket.objects.filter(device=world.device_a).count() == 1


# Replies and uploads on a ticket -------------------------------------------------------------


def test_a_merchants_replies_over_the_limit_answer_429_with_the_text_kept(
    world: World,
    as_user,  # noqa: ANN001
    small_limits: None,
) -> None:
    ticket = queued_ticket(world.device_a, reporter=world.alice)
    client = as_user(world.alice)
    url = reverse("tickets:reply", args=[ticket.reference])
    assert client.post(url, {"body": "One"}).status_code == 302
    assert client.post(url, {"body": "Two"}).status_code == 302

    response = client.post(url, {"body": "Three, and the printer smokes."})

    assert response.status_code == 429
    assert "You have written 2 messages within 10 minutes" in response.text
    assert "Three, and the printer smokes." in response.text
    assert ticket.events.filter(kind="merchant_reply").count() == 2


def test_a_technicians_messages_count_together(world: World, as_user, small_limits: None) -> None:  # noqa: ANN001
    ticket = queued_ticket(world.device_a, reporter=world.alice)
    client = as_user(world.xavier)

    def post(name: str, prefix: str, body: str) -> int:
        url = reverse(f"tickets:{name}", args=[ticket.reference])
        return client.post(url, {f"{prefix}-body": body}).status_code

    assert post("work_note", "note", "Checked the logs.") == 302
    assert post("work_reply", "reply", "On our way.") == 302
    response = client.post(
        reverse("tickets:work_reply", args=[ticket.reference]), {"reply-body": "A third one"}
    )
    assert response.status_code == 429
    assert "A third one" in response.text
    assert re.search(r"You have written 2 messages within 10 minutes", response.text)


def test_the_proof_of_purchase_counts_as_an_upload(
    world: World,
    as_user,  # noqa: ANN001
    small_limits: None,
    settings,  # noqa: ANN001
    media_root,  # noqa: ANN001
) -> None:
    settings.RATE_LIMIT_UPLOADS = (1, 3600)
    ticket = queued_ticket(world.device_a, reporter=world.alice, warranty_status="unknown")
    client = as_user(world.alice)
    reply = reverse("tickets:reply", args=[ticket.reference])
    assert client.post(reply, {"body": "A photo", "attachments": [png()]}).status_code == 302

    response = client.post(
        reverse("tickets:add_proof", args=[ticket.reference]),
        {"proof": png("receipt.png"), "purchase_date": "2025-01-02"},
    )

    assert response.status_code == 429
    assert "You have sent 1 file within 1 hour" in response.text
