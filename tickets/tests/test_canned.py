"""Canned replies (issue 14, item 4): kept by a provider's managers in both languages,
read by its technicians, filled in for a ticket in its shop's language."""

from __future__ import annotations

import pytest
from django.urls import reverse

from conftest import World
from devices.models import Membership
from tests.factories import queued_ticket
from tickets.canned import text_for, unknown_placeholders
from tickets.models import CannedReply

pytestmark = pytest.mark.django_db

TEXT = "Hello {merchant}, ticket {reference}: restart the terminal. {technician}, {hotline}"
TEXT_ZH = "{merchant}您好，工单 {reference}：请重启终端。{technician}，{hotline}"


@pytest.fixture
def reply(world: World) -> CannedReply:
    return CannedReply.objects.create(
        provider=world.provider_x, title="Restart", body=TEXT, body_zh_hans=TEXT_ZH
    )


def test_placeholders_are_filled_in_the_shops_language(world: World, reply: CannedReply) -> None:
    ticket = queued_ticket(world.device_a, reporter=world.alice)
    world.xavier.first_name, world.xavier.last_name = "Xavier", "Wu"
    assert text_for(reply, ticket, world.xavier) == (
        f"Hello Shop A, ticket {ticket.reference}: restart the terminal. Xavier Wu, 400-800-0000"
    )
    world.alice.language = "zh-hans"
    world.alice.save()
    ticket.refresh_from_db()
    assert text_for(reply, ticket, world.xavier).startswith(f"Shop A您好，工单 {ticket.reference}")
    # Only one language written: everyone gets that one.
    reply.body_zh_hans = ""
    assert text_for(reply, ticket, world.xavier).startswith("Hello Shop A")


def test_only_the_known_placeholders_and_nothing_else_is_evaluated(
    world: World, reply: CannedReply
) -> None:
    assert unknown_placeholders("{merchant} {secret} {reference.__class__}") == ["secret"]
    reply.body = "{merchant.__class__} {0} {merchant}"
    ticket = queued_ticket(world.device_a, reporter=world.alice)
    assert text_for(reply, ticket, world.xavier) == "{merchant.__class__} {0} Shop A"


def test_a_manager_keeps_them_and_a_technician_reads_them(
    world: World,
    as_user,  # noqa: ANN001
    reply: CannedReply,
) -> None:
    Membership.objects.filter(user=world.xena).update(manager=True)
    manager, technician = as_user(world.xena), as_user(world.xavier)
    page = technician.get(reverse("tickets:canned")).content.decode()
    assert "Restart" in page
    assert reverse("tickets:canned_new") not in page
    for url in (
        reverse("tickets:canned_new"),
        reverse("tickets:canned_edit", args=[reply.pk]),
    ):
        assert technician.get(url).status_code == 404
    assert technician.post(reverse("tickets:canned_delete", args=[reply.pk])).status_code == 404

    bad = manager.post(
        reverse("tickets:canned_new"),
        {"title": "Visit", "body": "We come {tomorrow}", "body_zh_hans": ""},
    )
    assert bad.status_code == 400
    assert "Unknown placeholder: {tomorrow}" in bad.content.decode()
    assert "We come {tomorrow}" in bad.content.decode()  # nothing typed is lost
    clash = manager.post(reverse("tickets:canned_new"), {"title": "Restart", "body": "x"})
    assert "already has a canned reply of that title" in clash.content.decode()

    response = manager.post(
        reverse("tickets:canned_new"),
        {"title": "Visit", "body": "", "body_zh_hans": "{technician} 明天上门。"},
    )
    assert response.status_code == 302
    saved = CannedReply.objects.get(title="Visit")
    assert (saved.provider, saved.updated_by) == (world.provider_x, world.xena)
    manager.post(reverse("tickets:canned_delete", args=[reply.pk]))
    assert not CannedReply.objects.filter(pk=reply.pk).exists()


def test_another_providers_replies_are_out_of_reach(
    world: World,
    as_user,  # noqa: ANN001
    reply: CannedReply,
) -> None:
    Membership.objects.filter(user=world.yuri).update(manager=True)
    other = as_user(world.yuri)
    assert "Restart" not in other.get(reverse("tickets:canned")).content.decode()
    assert other.get(reverse("tickets:canned_edit", args=[reply.pk])).status_code == 404
    assert other.post(reverse("tickets:canned_delete", args=[reply.pk])).status_code == 404
    assert as_user(world.alice).get(reverse("tickets:canned")).status_code == 404
    assert CannedReply.objects.filter(pk=reply.pk).exists()


def test_a_canned_reply_is_inserted_into_a_reply_or_a_question(
    world: World,
    as_user,  # noqa: ANN001
    reply: CannedReply,
) -> None:
    ticket = queued_ticket(world.device_a, reporter=world.alice)
    page_url = reverse("tickets:work_ticket", args=[ticket.reference])
    client = as_user(world.xavier)
    page = client.get(page_url).content.decode()
    assert 'name="canned"' in page
    assert "Restart" in page

    response = client.get(page_url, {"canned": reply.pk, "into": "reply"})
    form = response.context["forms"]["reply"]
    assert form.initial["body"].startswith(f"Hello Shop A, ticket {ticket.reference}")
    assert 'id="action-reply" open' in response.content.decode()
    asked = client.get(page_url, {"canned": reply.pk, "into": "ask"}).context["forms"]["ask"]
    assert asked.initial["body"].startswith("Hello Shop A")

    # Another provider's reply, or a made-up target, fills in nothing.
    theirs = CannedReply.objects.create(provider=world.provider_y, title="Theirs", body="Y")
    for params in ({"canned": theirs.pk, "into": "reply"}, {"canned": reply.pk, "into": "note"}):
        forms = client.get(page_url, params).context["forms"]
        assert not forms["reply"].initial.get("body")
        assert not forms["note"].initial.get("body")
