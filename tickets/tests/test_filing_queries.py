"""/tickets/new/: what the filing pages ask the database, and re-sent reports.

The filing form is the portal's busiest write (bench W1): each query here is on every
filing, so the tests pin which ones there are, not only how many.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import DeviceFactory
from tickets.models import Category, SelfHelpSuccess, Ticket
from tickets.tests.filing_helpers import filing_data

pytestmark = pytest.mark.django_db
URL = reverse("tickets:new")


def _sql(client, method: str, *args, **kwargs) -> tuple[object, list[str]]:  # noqa: ANN001, ANN002, ANN003
    with CaptureQueriesContext(connection) as queries:
        response = getattr(client, method)(*args, **kwargs)
    return response, [q["sql"] for q in queries.captured_queries]


def _touching(sql: list[str], table: str) -> list[str]:
    return [q for q in sql if f'"{table}"' in q]


def test_filing_asks_for_the_device_once_and_checks_the_token_in_the_insert(world, as_user) -> None:
    response, sql = _sql(as_user(world.alice), "post", URL, filing_data(world.device_a))
    assert response.status_code == 302
    # The terminal: one look-up, which also proves it is the merchant's, and its row
    # locked (nothing read) while its open tickets for this fault are looked for.
    devices = _touching(sql, "devices_device")
    assert len(devices) == 2
    selected, _from, rest = devices[1].partition(" FROM ")
    assert "," not in selected
    assert rest.endswith("FOR UPDATE")
    # The one SELECT is for an open ticket of the same fault (which may be the same
    # report sent again); a token used on a closed ticket is still answered by the
    # unique constraint in the INSERT.
    # The reference is written by the database in the INSERT (migration 0020), and read
    # back with it: no UPDATE after it.
    tickets = _touching(sql, "tickets_ticket")
    assert [q.split()[0] for q in tickets] == ["SELECT", "INSERT"]
    ticket = Ticket.objects.get()
    assert ticket.reference == f"PD-{ticket.pk:06d}"
    # Nothing ticked: the checks are not read.
    assert not _touching(sql, "tickets_selfhelpcheck")


def test_ticked_checks_are_still_validated(world, as_user) -> None:
    data = filing_data(world.device_a, Category.NETWORK, checks_tried=["router", "nonsense"])
    response = as_user(world.alice).post(URL, data)
    assert response.status_code == 200
    assert Ticket.objects.count() == 0
    assert response.context["form"].errors["checks_tried"]
    # The page shown again still lists the category's checks, ticked as sent.
    assert 'value="router" id="check-router" checked' in response.text


def test_that_fixed_it_sent_after_the_report_was_filed_lands_on_the_ticket(world, as_user) -> None:
    client = as_user(world.alice)
    data = filing_data(world.device_a)
    client.post(URL, data)
    ticket = Ticket.objects.get()
    response = client.post(URL, {**data, "action": "fixed"})
    assert response.status_code == 302
    assert response.url == ticket.get_absolute_url()
    assert not SelfHelpSuccess.objects.exists()
    assert Ticket.objects.count() == 1


def test_a_re_sent_report_that_no_longer_validates_lands_on_its_ticket(world, as_user) -> None:
    client = as_user(world.alice)
    data = filing_data(world.device_a)
    client.post(URL, data)
    ticket = Ticket.objects.get()
    world.device_a.status = "retired"
    world.device_a.save()
    response = client.post(URL, data, follow=True)
    assert response.redirect_chain[-1][0] == ticket.get_absolute_url()
    assert "This report was already sent" in response.text
    assert Ticket.objects.count() == 1


def test_step_two_reads_the_terminals_once(world, as_user) -> None:
    other = DeviceFactory(merchant=world.merchant_a, provider=world.provider_x)
    response, sql = _sql(
        as_user(world.alice), "get", URL, {"device": other.pk, "category": Category.HARDWARE}
    )
    assert response.status_code == 200
    assert 'name="description"' in response.text
    assert f'<option value="{other.pk}" selected>' in response.text
    assert f'<option value="{world.device_a.pk}">' in response.text
    assert len(_touching(sql, "devices_device")) == 1
    assert f"?device={other.pk}" in response.text  # "Change" keeps the terminal


def test_step_two_with_another_merchants_terminal_is_step_one(world, as_user) -> None:
    response = as_user(world.alice).get(
        URL, {"device": world.device_b.pk, "category": Category.HARDWARE}
    )
    assert response.status_code == 200
    assert 'name="description"' not in response.text
    assert world.device_b.serial_number not in response.text
    assert "invalid-feedback" in response.text  # the terminal field says what is wrong


def test_step_two_with_a_retired_terminal_is_step_one(world, as_user) -> None:
    world.device_a.status = "retired"
    world.device_a.save()
    response = as_user(world.alice).get(
        URL, {"device": world.device_a.pk, "category": Category.HARDWARE}
    )
    assert 'name="description"' not in response.text


def test_step_one_reads_the_terminals_once(world, as_user) -> None:
    response, sql = _sql(as_user(world.alice), "get", URL)
    assert response.status_code == 200
    assert f'<option value="{world.device_a.pk}" selected>' in response.text
    assert len(_touching(sql, "devices_device")) == 1


def test_step_one_without_terminals_asks_to_register_one(world, as_user) -> None:
    world.device_a.status = "retired"
    world.device_a.save()
    response = as_user(world.alice).get(URL)
    assert "Register your terminal first" in response.text
    assert 'id="start-form"' not in response.text
