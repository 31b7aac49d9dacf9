"""/reports/, the scorecard and their exports: who may read them, and what they show."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from devices.models import Membership
from reports import rollups
from reports.tests.helpers import hand_made
from tests.factories import DeviceFactory

pytestmark = pytest.mark.django_db


def make_manager(user) -> None:  # noqa: ANN001
    Membership.objects.filter(user=user).update(manager=True)


@pytest.fixture
def made(world):  # noqa: ANN001, ANN201
    data = hand_made(world)
    rollups.build_days({data["d1"], data["d2"]})
    data["range"] = {"start": data["d1"].isoformat(), "end": data["d2"].isoformat()}
    return data


def test_admin_reads_every_provider(world, made, as_user) -> None:  # noqa: ANN001
    response = as_user(world.admin).get(reverse("reports:index"), made["range"])
    assert response.status_code == 200
    page = response.content.decode()
    assert "Provider X" in page
    assert "Provider Y" in page
    assert '<svg viewBox="0 0 400' in page
    assert 'id="breakdown-table"' in page


def test_a_manager_reads_only_their_provider(world, made, as_user) -> None:  # noqa: ANN001
    make_manager(world.yuri)
    response = as_user(world.yuri).get(
        reverse("reports:index"), {**made["range"], "by": "provider"}
    )
    assert response.status_code == 200
    # Provider Y filed nothing; X's four tickets are not counted, and no provider picker.
    assert response.context["report"].total.filed == 0
    assert response.context["report"].provider == world.provider_y
    assert "provider" not in response.context["form"].fields
    # A provider parameter is ignored for a manager.
    response = as_user(world.yuri).get(
        reverse("reports:index"), {**made["range"], "provider": world.provider_x.pk}
    )
    assert response.context["report"].total.filed == 0

    make_manager(world.xena)
    response = as_user(world.xena).get(reverse("reports:index"), made["range"])
    assert response.context["report"].total.filed == 4


@pytest.mark.parametrize("who", ["xavier", "alice", "bob"])
def test_technicians_and_shops_get_404(world, made, as_user, who) -> None:  # noqa: ANN001
    client = as_user(getattr(world, who))
    for url in (
        reverse("reports:index"),
        reverse("reports:scorecard"),
        reverse("reports:export", args=["breakdown", "csv"]),
        reverse("reports:export", args=["scorecard", "xlsx"]),
    ):
        assert client.get(url).status_code == 404, url


def test_anonymous_is_sent_to_log_in(client) -> None:  # noqa: ANN001
    response = client.get(reverse("reports:index"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_scorecard_names_others_only_for_admins(world, made, as_user) -> None:  # noqa: ANN001
    make_manager(world.yuri)
    page = as_user(world.yuri).get(reverse("reports:scorecard"), made["range"]).content.decode()
    assert "Provider Y" in page
    assert "Provider X" not in page
    assert "Other provider A" in page
    csv = b"".join(
        as_user(world.yuri)
        .get(reverse("reports:export", args=["scorecard", "csv"]), made["range"])
        .streaming_content
    ).decode()
    assert "Provider X" not in csv
    assert "Other provider A" in csv

    page = as_user(world.admin).get(reverse("reports:scorecard"), made["range"]).content.decode()
    assert "Provider X" in page
    assert "Provider Y" in page
    assert "Other provider" not in page


def test_breakdown_export_has_the_page_figures(world, made, as_user) -> None:  # noqa: ANN001
    make_manager(world.xena)
    response = as_user(world.xena).get(
        reverse("reports:export", args=["breakdown", "csv"]), {**made["range"], "by": "category"}
    )
    assert response["Content-Type"].startswith("text/csv")
    lines = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Kind of fault,Filed,")
    assert lines[1].startswith("All,4,3,2,")  # filed, filed unable to pay, resolved


def test_xlsx_export_opens(world, made, as_user) -> None:  # noqa: ANN001
    from io import BytesIO

    from openpyxl import load_workbook

    response = as_user(world.admin).get(
        reverse("reports:export", args=["daily", "xlsx"]), made["range"]
    )
    book = load_workbook(BytesIO(b"".join(response.streaming_content)))
    rows = list(book.active.values)
    assert rows[0] == ("Day", "Filed", "Resolved", "Open at the end of the day")
    assert rows[1][1:] == (4, 1, 2)


def test_queries_do_not_grow_with_rows(world, made, as_user) -> None:  # noqa: ANN001
    """The page reads rollups: ten times the tickets, the same number of queries."""
    from reports.tests.helpers import at, ticket

    client = as_user(world.admin)
    url = reverse("reports:index")
    params = {**made["range"], "by": "model", "provider": world.provider_x.pk}
    client.get(url, params)
    with CaptureQueriesContext(connection) as before:
        assert client.get(url, params).status_code == 200
    for n in range(40):
        # A terminal of a model of its own each: more rows and more groups.
        device = DeviceFactory(merchant=world.merchant_a, provider=world.provider_x)
        ticket(
            world,
            made["queue"],
            at(made["d1"], 15, n),
            resolved_at=at(made["d2"], 9, n),
            device=device,
        )
    rollups.build_days({made["d1"], made["d2"]})
    with CaptureQueriesContext(connection) as after:
        response = client.get(url, params)
    assert response.context["report"].total.filed == 44
    assert len(response.context["report"].groups) > 10
    assert len(after) == len(before) <= 15


def test_a_manager_reads_it_in_chinese(world, made, as_user) -> None:  # noqa: ANN001
    make_manager(world.xena)
    world.xena.language = "zh-hans"
    world.xena.save()
    client = as_user(world.xena)
    page = client.get(reverse("reports:index"), made["range"]).content.decode()
    assert "报表" in page
    assert "服务商评分卡" in page
    assert "SLA 达标率" in page
    csv = b"".join(
        client.get(
            reverse("reports:export", args=["breakdown", "csv"]), made["range"]
        ).streaming_content
    ).decode("utf-8-sig")
    assert csv.splitlines()[0].startswith("队列,")
    assert "5 星" in csv.splitlines()[0]
