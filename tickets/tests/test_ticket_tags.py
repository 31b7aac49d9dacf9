"""`ticket_tags`: the status badge and the SLA clock written in Python for list rows.

They replaced `{% include %}`s of `tickets/_status.html` and `tickets/work/_sla.html` on
every row; the markup must stay what those partials printed, translated and escaped.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.template import Context, Template
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.safestring import SafeString

from tests.factories import queued_ticket
from tickets.models import Category, Ticket
from tickets.sla import SlaClock
from tickets.templatetags.ticket_tags import sla_clock, status_badge
from tickets.views.work import _rows

HOSTILE = '<script>alert("x")</script>'
DUE = datetime(2026, 3, 1, 4, 5, tzinfo=UTC)  # 12:05 in Shanghai


@pytest.mark.parametrize(
    ("status", "css"),
    [
        ("new", "text-bg-secondary"),
        ("queued", "text-bg-info"),
        ("in_progress", "text-bg-primary"),
        ("waiting_merchant", "text-bg-warning"),
        ("resolved", "text-bg-success"),
        ("closed", "text-bg-light border"),
        ("cancelled", "text-bg-light border"),
        ("something_new", "text-bg-light border"),
    ],
)
def test_the_badge_has_the_colour_of_its_status(status: str, css: str) -> None:
    html = status_badge(status, "Label")
    assert html == f'<span class="badge {css}">Label</span>'
    assert isinstance(html, SafeString)


def test_the_badge_escapes_its_label() -> None:
    assert status_badge("queued", HOSTILE) == (
        '<span class="badge text-bg-info">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</span>'
    )


def test_the_badge_says_the_status_in_the_readers_language() -> None:
    with translation.override("zh-hans"):
        html = Template("{% load ticket_tags %}{{ s|status_badge:label }}").render(
            Context({"s": "queued", "label": Ticket.Status.QUEUED.label})
        )
    assert html == '<span class="badge text-bg-info">排队中</span>'


def test_the_status_partial_prints_the_badge() -> None:
    # ticket.html still includes the partial.
    html = render_to_string("tickets/_status.html", {"status": "resolved", "label": HOSTILE})
    assert html.strip() == status_badge("resolved", HOSTILE)
    assert "<script>" not in html


@pytest.mark.parametrize(
    "clock",
    [None, SlaClock(None, False, False, ""), SlaClock(DUE, False, False, "")],
)
def test_no_clock_prints_nothing(clock: SlaClock | None) -> None:
    assert sla_clock(clock) == ""


def test_a_running_clock_shows_the_time_left_and_the_local_due_time() -> None:
    with timezone.override("Asia/Shanghai"):
        html = sla_clock(SlaClock(DUE, False, False, "3 h 5 min left"))
    assert html == '<span class="" title="due 2026-03-01 12:05">3 h 5 min left</span>'
    assert isinstance(html, SafeString)


def test_an_overdue_clock_is_marked() -> None:
    with timezone.override("UTC"):
        html = sla_clock(SlaClock(DUE, True, False, "overdue by 2 d 1 h"))
    assert (
        html == '<span class="sla-overdue" title="due 2026-03-01 04:05">overdue by 2 d 1 h</span>'
    )


def test_a_paused_clock_is_grey() -> None:
    with timezone.override("UTC"):
        html = sla_clock(SlaClock(DUE, False, True, "paused"))
    assert html == (
        '<span class="text-body-secondary fst-italic" title="due 2026-03-01 04:05">paused</span>'
    )


def test_a_paused_overdue_clock_says_both() -> None:
    with timezone.override("UTC"):
        html = sla_clock(SlaClock(DUE, True, True, "overdue by 5 min"))
    assert html == (
        '<span class="sla-overdue" title="due 2026-03-01 04:05">overdue by 5 min</span>'
        ' <span class="text-body-secondary fst-italic">(paused)</span>'
    )


def test_a_clock_without_a_due_time_has_no_title() -> None:
    assert sla_clock(SlaClock(None, False, False, "1 h left")) == '<span class="">1 h left</span>'


def test_the_clock_escapes_its_text() -> None:
    html = sla_clock(SlaClock(DUE, True, False, HOSTILE))
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


def test_the_clock_speaks_the_readers_language() -> None:
    with translation.override("zh-hans"), timezone.override("UTC"):
        html = sla_clock(SlaClock(DUE, True, True, "x"))
    assert 'title="期限 2026-03-01 04:05"' in html
    assert "(已暂停)" in html


def test_the_sla_partial_prints_the_clock_as_the_template_did() -> None:
    # What `_sla.html` printed with `{{ clock.due|date:'Y-m-d H:i' }}` before.
    clock = SlaClock(DUE, True, True, "overdue by 5 min")
    with timezone.override("Asia/Shanghai"):
        html = render_to_string("tickets/work/_sla.html", {"clock": clock})
        by_template = Template("{{ due|date:'Y-m-d H:i' }}").render(Context({"due": DUE}))
    assert html.strip() == sla_clock(clock)
    assert f'title="due {by_template}"' in html


# The rows' labels, worked out once per list -------------------------------------------------


def test_rows_carry_the_labels_and_links_a_row_shows(world) -> None:  # noqa: ANN001
    ticket = queued_ticket(
        world.device_a,
        status=Ticket.Status.IN_PROGRESS,
        assigned_to=world.xena,
        category=Category.SOFTWARE,
        symptom="frozen",
    )
    world.xena.first_name, world.xena.last_name = "Xena", "Wu"
    ticket.assigned_to = world.xena
    with translation.override("zh-hans"):
        (row,) = _rows([ticket], timezone.now())
    assert row.url == f"/work/tickets/{ticket.reference}/"
    assert row.category == "软件"
    assert row.status == "处理中"
    assert row.symptom == "死机或卡在某个界面"
    assert row.assignee == "Xena Wu"


def test_a_row_falls_back_to_the_username_and_to_nobody(world) -> None:  # noqa: ANN001
    mine = queued_ticket(world.device_a, assigned_to=world.xavier)
    free = queued_ticket(world.device_a)
    rows = _rows([mine, free], timezone.now())
    assert [row.assignee for row in rows] == ["xavier", ""]


def test_an_unknown_code_shows_as_stored(world) -> None:  # noqa: ANN001
    ticket = queued_ticket(world.device_a)
    ticket.category, ticket.status = "retired_kind", "archived"
    (row,) = _rows([ticket], timezone.now())
    assert (row.category, row.status) == ("retired_kind", "archived")
