"""Replies by e-mail: .eml fixtures (English and Chinese, quoted, HTML only, attachments,
a card number) land on their ticket as the right person's reply; forged, foreign and
out-of-scope ones are refused and logged."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest
from django.core import mail as outbox_mail
from django.core.management import call_command
from django.urls import reverse

from devices.models import Membership
from mail import inbound, replies
from mail.models import OutboundEmail
from tests.factories import queued_ticket
from tickets import workflow
from tickets.models import Attachment, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

EML = Path(__file__).parent / "eml"
DOMAIN = "reply.posdesk.test"


@pytest.fixture(autouse=True)
def _reply_domain(settings) -> None:  # noqa: ANN001
    settings.MAIL_REPLY_DOMAIN = DOMAIN
    settings.MAIL_INBOUND_TOKEN = "inbound-secret"


def eml(name: str, ticket: Ticket, user, *, address: str = "", sender: str = "") -> bytes:  # noqa: ANN001
    raw = (EML / name).read_bytes()
    address = address or replies.reply_address(ticket.pk, user.pk)
    sender = sender or f"{user.get_username()} <{user.email}>"
    return raw.replace(b"REPLY_TO", address.encode()).replace(b"SENDER", sender.encode())


def _reply(ticket: Ticket) -> TicketEvent:
    return ticket.events.filter(
        kind__in=[TicketEvent.Kind.MERCHANT_REPLY, TicketEvent.Kind.REPLY]
    ).get()


# The address on the way out ------------------------------------------------------------


def test_a_notification_carries_a_reply_to_per_reader(
    world, django_capture_on_commit_callbacks
) -> None:
    ticket = queued_ticket(world.device_a)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.reply(ticket, world.xavier, "Please restart it.")
    row = OutboundEmail.objects.get(user=world.alice)
    assert row.reply_to == replies.reply_address(ticket.pk, world.alice.pk)
    assert row.reply_to.startswith("reply+")
    assert row.reply_to.endswith("@" + DOMAIN)
    (sent,) = outbox_mail.outbox
    assert sent.reply_to == [row.reply_to]


def test_without_a_reply_domain_there_is_no_reply_to(world, settings) -> None:  # noqa: ANN001
    settings.MAIL_REPLY_DOMAIN = ""
    ticket = queued_ticket(world.device_a)
    workflow.reply(ticket, world.xavier, "Please restart it.")
    assert OutboundEmail.objects.get(user=world.alice).reply_to == ""


# Landing -------------------------------------------------------------------------------


def test_an_english_reply_lands_without_the_quote_and_signature(world) -> None:
    ticket = queued_ticket(world.device_a)
    outcome = inbound.receive(eml("en_quoted.eml", ticket, world.alice))
    assert (outcome.code, outcome.exit_code) == ("accepted", 0)
    event = _reply(ticket)
    assert event.kind == TicketEvent.Kind.MERCHANT_REPLY
    assert event.actor == world.alice
    assert event.body == (
        "The screen works again after the restart, thanks.\nI will watch it today."
    )
    assert event.data == {"via": "email"}


def test_a_chinese_reply_lands_without_the_quote_and_signature(world) -> None:
    ticket = queued_ticket(world.device_a)
    assert inbound.receive(eml("zh_quoted.eml", ticket, world.alice)).accepted
    assert _reply(ticket).body == "重启以后屏幕还是黑的，打印机也没有反应。\n请尽快派人来看看。"


def test_a_chinese_outlook_reply_in_gbk_lands_without_the_original(world) -> None:
    ticket = queued_ticket(world.device_a)
    assert inbound.receive(eml("zh_outlook_gbk.eml", ticket, world.alice)).accepted
    assert _reply(ticket).body == "好的，明天上午十点可以上门。"


def test_an_html_only_reply_lands_as_text(world) -> None:
    ticket = queued_ticket(world.device_a)
    assert inbound.receive(eml("en_html_only.eml", ticket, world.alice)).accepted
    assert _reply(ticket).body == (
        "Error 11 shows again & the receipt printer beeps.\n\nCan someone come today?\nThanks"
    )


def test_attachments_are_checked_like_uploads(world, as_user) -> None:  # noqa: ANN001
    ticket = queued_ticket(world.device_a)
    assert inbound.receive(eml("en_attachments.eml", ticket, world.alice)).accepted
    event = _reply(ticket)
    assert event.body == "Here is a photo of the screen."
    # The photo is kept; the program is not; the signature's inline logo is no attachment.
    assert [a.original_name for a in event.attachments.all()] == ["screen.png"]
    assert event.attachments.get().content_type == "image/png"
    assert event.data["attachments_refused"] == ["fix.exe"]
    page = as_user(world.alice).get(ticket.get_absolute_url()).content.decode()
    assert "Attachments not kept: fix.exe" in page


def test_a_card_number_is_cut_to_its_last_four_digits(world, as_user) -> None:  # noqa: ANN001
    ticket = queued_ticket(world.device_a)
    assert inbound.receive(eml("zh_card_number.eml", ticket, world.alice)).accepted
    event = _reply(ticket)
    assert "6222" not in event.body
    assert event.body.startswith("顾客的卡号是 **** 0128，扣款了但终端显示失败。")
    assert "参考号 20261202091200" in event.body  # a reference number is not a card number
    assert event.data["card_numbers_cut"] == 1
    assert not TicketEvent.objects.filter(body__contains="6222 0212").exists()
    page = (
        as_user(world.xavier)
        .get(reverse("tickets:work_ticket", args=[ticket.reference]))
        .content.decode()
    )
    assert "A card number was cut to its last four digits" in page


def test_a_technician_replies_by_email(world) -> None:
    ticket = queued_ticket(world.device_a)
    outcome = inbound.receive(eml("en_attachments.eml", ticket, world.xavier))
    assert outcome.accepted
    event = _reply(ticket)
    assert (event.kind, event.actor, event.public) == (TicketEvent.Kind.REPLY, world.xavier, True)
    # A technician's reply takes no files, on the web or by e-mail.
    assert not Attachment.objects.exists()
    assert event.data["attachments_refused"] == ["screen.png", "fix.exe"]


# Refusals ------------------------------------------------------------------------------


def test_a_forged_token_is_refused_and_logged(world, caplog) -> None:  # noqa: ANN001
    ticket = queued_ticket(world.device_a)
    good = replies.reply_address(ticket.pk, world.alice.pk)
    forged = good.replace(good.split("-")[2][:4], "0000", 1)
    assert forged != good
    with caplog.at_level(logging.WARNING, logger="mail.inbound"):
        outcome = inbound.receive(eml("en_quoted.eml", ticket, world.alice, address=forged))
    assert (outcome.code, outcome.exit_code) == ("forged", inbound.EX_NOUSER)
    assert "forged" in caplog.text
    assert not ticket.events.filter(kind=TicketEvent.Kind.MERCHANT_REPLY).exists()


def test_a_token_for_another_ticket_cannot_be_rewritten(world) -> None:
    mine = queued_ticket(world.device_a)
    theirs = queued_ticket(world.device_b)
    good = replies.reply_address(mine.pk, world.alice.pk)
    other = good.replace(f"reply+{mine.pk}-", f"reply+{theirs.pk}-", 1)
    outcome = inbound.receive(eml("en_quoted.eml", mine, world.alice, address=other))
    assert outcome.code == "forged"
    assert not TicketEvent.objects.filter(kind=TicketEvent.Kind.MERCHANT_REPLY).exists()


def test_mail_without_a_token_is_refused(world) -> None:
    ticket = queued_ticket(world.device_a)
    outcome = inbound.receive(
        eml("en_quoted.eml", ticket, world.alice, address="support@posdesk.test")
    )
    assert (outcome.code, outcome.exit_code) == ("no_token", inbound.EX_NOUSER)


def test_another_domain_is_refused(world) -> None:
    ticket = queued_ticket(world.device_a)
    address = replies.reply_address(ticket.pk, world.alice.pk).replace(DOMAIN, "evil.test")
    assert inbound.receive(eml("en_quoted.eml", ticket, world.alice, address=address)).code == (
        "forged"
    )


def test_a_sender_other_than_the_tokens_person_is_refused(world) -> None:
    ticket = queued_ticket(world.device_a)
    raw = eml("en_quoted.eml", ticket, world.alice, sender="Mallory <mallory@example.com>")
    outcome = inbound.receive(raw)
    assert (outcome.code, outcome.exit_code) == ("sender", inbound.EX_NOPERM)
    assert not ticket.events.filter(kind=TicketEvent.Kind.MERCHANT_REPLY).exists()


def test_a_ticket_no_longer_in_scope_is_refused(world) -> None:
    """A technician moved to another provider keeps old e-mails; their tokens stop working."""
    ticket = queued_ticket(world.device_a)
    raw = eml("en_quoted.eml", ticket, world.xavier)
    Membership.objects.filter(user=world.xavier).update(provider=world.provider_y)
    outcome = inbound.receive(raw)
    assert (outcome.code, outcome.exit_code) == ("scope", inbound.EX_NOPERM)
    assert not ticket.events.filter(kind=TicketEvent.Kind.REPLY).exists()


def test_a_reply_the_ticket_state_refuses_is_a_data_error(world) -> None:
    ticket = queued_ticket(world.device_a, status=Ticket.Status.CLOSED)
    outcome = inbound.receive(eml("en_quoted.eml", ticket, world.alice))
    assert (outcome.code, outcome.exit_code) == ("refused", inbound.EX_DATAERR)


def test_an_automatic_reply_is_ignored(world) -> None:
    ticket = queued_ticket(world.device_a)
    raw = b"Auto-Submitted: auto-replied\n" + eml("en_quoted.eml", ticket, world.alice)
    outcome = inbound.receive(raw)
    assert (outcome.code, outcome.exit_code) == ("ignored", 0)
    assert not ticket.events.filter(kind=TicketEvent.Kind.MERCHANT_REPLY).exists()


# The two ways in -----------------------------------------------------------------------


def test_mailgate_reads_stdin_and_exits_with_a_sysexits_code(world, monkeypatch, capsys) -> None:  # noqa: ANN001
    import io

    ticket = queued_ticket(world.device_a)

    def run(raw: bytes) -> int:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))
        with pytest.raises(SystemExit) as exit_:
            call_command("mailgate")
        return exit_.value.code

    assert run(eml("zh_quoted.eml", ticket, world.alice)) == 0
    assert _reply(ticket).actor == world.alice
    forged = replies.reply_address(ticket.pk, world.bob.pk)
    assert run(eml("en_quoted.eml", ticket, world.alice, address=forged)) == inbound.EX_NOPERM
    assert "refused" in capsys.readouterr().err


def test_the_http_endpoint_needs_its_secret(world, client) -> None:  # noqa: ANN001
    ticket = queued_ticket(world.device_a)
    raw = eml("en_quoted.eml", ticket, world.alice)
    url = reverse("mail:inbound")
    refused = client.post(url, raw, content_type="message/rfc822")
    assert refused.status_code == 403
    wrong = client.post(url, raw, content_type="message/rfc822", HTTP_X_POSDESK_MAIL_TOKEN="x")
    assert wrong.status_code == 403
    assert not ticket.events.filter(kind=TicketEvent.Kind.MERCHANT_REPLY).exists()
    taken = client.post(
        url, raw, content_type="message/rfc822", HTTP_X_POSDESK_MAIL_TOKEN="inbound-secret"
    )
    assert taken.status_code == 200
    assert taken.json() == {"status": "accepted", "code": "accepted", "event": _reply(ticket).pk}
    forged = raw.replace(b"reply+", b"reply+9")
    answer = client.post(
        url, forged, content_type="message/rfc822", HTTP_X_POSDESK_MAIL_TOKEN="inbound-secret"
    )
    assert (answer.status_code, answer.json()["code"]) == (422, "forged")


def test_the_http_endpoint_is_off_without_a_secret(world, client, settings) -> None:  # noqa: ANN001
    settings.MAIL_INBOUND_TOKEN = ""
    response = client.post(
        reverse("mail:inbound"), b"x", content_type="message/rfc822", HTTP_X_POSDESK_MAIL_TOKEN=""
    )
    assert response.status_code == 404


def test_the_address_survives_a_mail_server_changing_its_case(world) -> None:
    ticket = queued_ticket(world.device_a)
    address = replies.reply_address(ticket.pk, world.alice.pk)
    assert replies.find(f"<{address.upper()}>") == (replies.Token(ticket.pk, world.alice.pk), "")
    raw = eml("en_quoted.eml", ticket, world.alice, address=address.upper())
    assert inbound.receive(raw).accepted


def test_the_http_endpoint_refuses_a_message_too_large(world, client, settings) -> None:  # noqa: ANN001
    settings.MAIL_INBOUND_MAX_BYTES = 1000
    ticket = queued_ticket(world.device_a)
    raw = eml("en_attachments.eml", ticket, world.alice)
    assert len(raw) > 1000
    response = client.post(
        reverse("mail:inbound"),
        raw,
        content_type="message/rfc822",
        HTTP_X_POSDESK_MAIL_TOKEN="inbound-secret",
    )
    assert response.status_code == 413
    assert not ticket.events.filter(kind=TicketEvent.Kind.MERCHANT_REPLY).exists()


@pytest.mark.parametrize(
    ("text", "expected", "count"),
    [
        ("card 4111 1111 1111 1111 exp 12/27", "card **** 1111 exp 12/27", 1),
        ("4111-1111-1111-1111 2025", "**** 1111 2025", 1),
        ("两张 4111111111111111 和 5500 0000 0000 0004。", "两张 **** 1111 和 **** 0004。", 2),
        ("call +86 138 0013 8000, order 20261202091200", None, 0),
    ],
)
def test_card_numbers_are_cut_to_their_last_four_digits(text: str, expected, count: int) -> None:  # noqa: ANN001
    from tickets.pci import contains_card_number, mask_card_numbers

    masked, cut = mask_card_numbers(text)
    assert (masked, cut) == (expected or text, count)
    assert not contains_card_number(masked)
