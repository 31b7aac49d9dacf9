"""The ticket and terminal lists export with their filters, inside the page's scope."""

from __future__ import annotations

import csv
import io
from io import BytesIO

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from devices.models import Device
from tests.factories import queued_ticket
from tickets.models import Queue, Ticket
from tickets.queues import ensure_default_queues

pytestmark = pytest.mark.django_db


def rows_of(response) -> list[list[str]]:  # noqa: ANN001
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


@pytest.fixture
def tickets(world):  # noqa: ANN001, ANN201
    ensure_default_queues(world.provider_x)
    ensure_default_queues(world.provider_y)
    open_one = queued_ticket(world.device_a, assigned_to=world.xavier, status="in_progress")
    done = queued_ticket(world.device_a, status="resolved")
    other = queued_ticket(world.device_b)
    return {"open": open_one, "done": done, "other": other}


def test_queue_export_keeps_the_filter(world, tickets, as_user) -> None:  # noqa: ANN001
    queue = tickets["open"].queue
    client = as_user(world.xavier)
    url = reverse("reports:queue_export", args=[queue.pk, "csv"])
    refs = [row[0] for row in rows_of(client.get(url))[1:]]
    assert refs == [tickets["open"].reference]  # open by default, as the page
    refs = {row[0] for row in rows_of(client.get(url, {"status": "all"}))[1:]}
    assert refs == {tickets["open"].reference, tickets["done"].reference}
    page = client.get(reverse("tickets:queue", args=[queue.pk]), {"status": "all"})
    assert f"{url}?status=all" in page.content.decode()  # the page links its filter


def test_queue_export_is_scoped(world, tickets, as_user) -> None:  # noqa: ANN001
    queue_y = Queue.objects.get(provider=world.provider_y, kind="warranty_repair")
    assert (
        as_user(world.xavier)
        .get(reverse("reports:queue_export", args=[queue_y.pk, "csv"]))
        .status_code
        == 404
    )
    queue_x = tickets["open"].queue
    for user in (world.yuri, world.alice):
        assert (
            as_user(user).get(reverse("reports:queue_export", args=[queue_x.pk, "csv"])).status_code
            == 404
        )
    assert (
        as_user(world.xavier)
        .get(reverse("reports:queue_export", args=[queue_x.pk, "pdf"]))
        .status_code
        == 404
    )


def test_mine_and_search_exports(world, tickets, as_user) -> None:  # noqa: ANN001
    client = as_user(world.xavier)
    mine = rows_of(client.get(reverse("reports:mine_export", args=["csv"])))
    assert [row[0] for row in mine[1:]] == [tickets["open"].reference]
    found = rows_of(
        client.get(reverse("reports:search_export", args=["csv"]), {"q": tickets["done"].reference})
    )
    assert [row[0] for row in found[1:]] == [tickets["done"].reference]
    # Another provider's ticket is not found by its reference.
    found = rows_of(
        client.get(
            reverse("reports:search_export", args=["csv"]), {"q": tickets["other"].reference}
        )
    )
    assert found[1:] == []
    assert (
        as_user(world.alice).get(reverse("reports:search_export", args=["csv"])).status_code == 404
    )


def test_a_shop_exports_its_own_tickets_and_terminals(world, tickets, as_user) -> None:  # noqa: ANN001
    Device.objects.filter(pk=world.device_a.pk).update(location="=HYPERLINK(1)")
    client = as_user(world.alice)
    rows = rows_of(
        client.get(reverse("reports:tickets_export", args=["csv"]), {"status": "resolved"})
    )
    assert "Queue" not in rows[0]
    assert "Assigned to" not in rows[0]
    assert [row[0] for row in rows[1:]] == [tickets["done"].reference]
    response = client.get(reverse("reports:devices_export", args=["xlsx"]))
    sheet = load_workbook(BytesIO(b"".join(response.streaming_content))).active
    values = list(sheet.values)
    assert [v[2] for v in values[1:]] == [world.device_a.serial_number]
    assert values[1][4] == "'=HYPERLINK(1)"
    for user in (world.xavier, world.bob):
        got = as_user(user).get(reverse("reports:tickets_export", args=["csv"]))
        if user == world.bob:
            # B's own ticket, never A's.
            assert [row[0] for row in rows_of(got)[1:]] == [tickets["other"].reference]
        else:
            assert got.status_code == 404
    assert (
        as_user(world.xavier).get(reverse("reports:devices_export", args=["csv"])).status_code
        == 404
    )
    assert Ticket.objects.count() == 3
