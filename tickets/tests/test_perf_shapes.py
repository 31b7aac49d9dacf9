"""The shapes bench/ relies on: faster code that must answer exactly like the slow one."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django import forms
from django.utils import timezone

from tests.factories import DeviceFactory, queued_ticket
from tickets.forms import FastSelect, TicketFilterForm
from tickets.models import Ticket


def _normalised(html: str) -> str:
    return re.sub(r"\s+", " ", html.replace(">", "> ").replace("<", " <")).strip()


@pytest.mark.django_db
def test_fast_select_renders_the_same_html_as_djangos_select(world) -> None:
    DeviceFactory(merchant=world.merchant_a, location='Till <2> & "back"')
    form = TicketFilterForm(world.merchant_a, {"device": str(world.device_a.pk)})
    form.is_valid()
    fast = str(form["device"])
    field = form.fields["device"]
    field.widget = forms.Select()
    field.widget.choices = field.choices
    assert _normalised(fast) == _normalised(str(form["device"]))
    assert "selected" in fast
    assert "&lt;2&gt; &amp; &quot;back&quot;" in fast


def test_fast_select_keeps_option_groups_and_attributes() -> None:
    widget = FastSelect(
        attrs={"class": "form-select"},
        choices=[("", "Any"), ("Fruit", [("a", "Apple"), ("b", "Banana")])],
    )
    attrs = {"id": "id_pick", "required": True, "disabled": False}
    html = widget.render("pick", "b", attrs=attrs)
    plain = forms.Select(attrs=widget.attrs, choices=widget.choices).render("pick", "b", attrs)
    assert _normalised(html) == _normalised(plain)
    assert '<optgroup label="Fruit">' in html


@pytest.mark.django_db
def test_page_rows_returns_the_same_page_as_slicing(world) -> None:
    now = timezone.now()
    for i in range(7):
        queued_ticket(world.device_a, now=now - timedelta(hours=i), priority=1 + i % 3)
    tickets = (
        Ticket.objects.exclude(queue=None)
        .for_work_list()
        .most_urgent_first(now + timedelta(hours=1))
    )
    assert tickets.page_rows(2, 3) == list(tickets[2:5])
    assert tickets.page_rows(100, 3) == []


@pytest.mark.django_db
def test_page_rows_reads_a_page_in_two_queries_whatever_the_queue_size(
    world, django_assert_num_queries
) -> None:
    for _ in range(30):
        queued_ticket(world.device_a)
    tickets = Ticket.objects.exclude(queue=None).for_work_list().order_by("-created_at", "-id")
    with django_assert_num_queries(2):
        page = tickets.page_rows(0, 26)
    with django_assert_num_queries(0):
        [(t.device.model.brand.name, t.merchant.name, t.queue.name) for t in page]


@pytest.mark.django_db
def test_device_choices_label_each_terminal_as_label_from_instance(world) -> None:
    DeviceFactory(merchant=world.merchant_a, location="")
    field = TicketFilterForm(world.merchant_a).fields["device"]
    labels = {str(value): label for value, label in field.choices if value != ""}
    assert labels == {
        str(device.pk): field.label_from_instance(device) for device in field.queryset
    }
    assert len(labels) == 2
