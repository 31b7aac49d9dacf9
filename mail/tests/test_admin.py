"""The outbox in the admin: listed by status, failed ones on top, retry and resend."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from mail.models import OutboundEmail
from mail.tests.helpers import email

pytestmark = pytest.mark.django_db

Status = OutboundEmail.Status
LIST = reverse("admin:mail_outboundemail_changelist")


def act(client, action: str, rows: list[OutboundEmail]):  # noqa: ANN001, ANN201
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(
            LIST, {"action": action, "_selected_action": [row.pk for row in rows]}, follow=True
        )


def test_it_is_for_admins_only(world, as_user) -> None:  # noqa: ANN001
    email()
    for outsider in (world.alice, world.xavier):
        response = as_user(outsider).get(LIST)
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]


def test_it_lists_messages_by_status_with_failed_ones_called_out(world, as_user) -> None:  # noqa: ANN001
    email(recipient="waiting@example.com")
    email(recipient="done@example.com", status=Status.SENT, sent_at=timezone.now())
    email(recipient="lost@example.com", status=Status.FAILED, attempts=9, last_error="refused")
    client = as_user(world.admin)

    page = client.get(LIST).content.decode()
    for address in ("waiting@example.com", "done@example.com", "lost@example.com"):
        assert address in page
    assert "1 e-mail could not be delivered." in page
    assert f"{LIST}?status__exact=failed" in page
    assert "<strong>⚠ failed</strong>" in page

    failed_only = client.get(LIST, {"status__exact": "failed"}).content.decode()
    assert "lost@example.com" in failed_only
    assert "waiting@example.com" not in failed_only

    found = client.get(LIST, {"q": "done@"}).content.decode()
    assert "done@example.com" in found
    assert "lost@example.com" not in found


def test_a_message_can_be_read_but_not_edited_added_or_deleted(world, as_user) -> None:  # noqa: ANN001
    row = email(subject="Your ticket PD-000001")
    client = as_user(world.admin)
    response = client.get(reverse("admin:mail_outboundemail_change", args=[row.pk]))
    assert response.status_code == 200
    assert "Your ticket PD-000001" in response.content.decode()
    assert row.message_id.replace("<", "&lt;").replace(">", "&gt;") in response.content.decode()
    assert client.get(reverse("admin:mail_outboundemail_add")).status_code == 403
    assert client.get(reverse("admin:mail_outboundemail_delete", args=[row.pk])).status_code == 403


def test_retry_now_sends_waiting_and_failed_messages_at_once(world, as_user) -> None:  # noqa: ANN001
    later = timezone.now() + timezone.timedelta(hours=1)
    waiting = email(next_attempt_at=later, attempts=3, first_failure_at=timezone.now())
    failed = email(status=Status.FAILED, attempts=9, first_failure_at=timezone.now())
    sent = email(status=Status.SENT, sent_at=timezone.now())

    response = act(as_user(world.admin), "retry_now", [waiting, failed, sent])

    assert "2 e-mails will be sent again now." in response.content.decode()
    for row in (waiting, failed):
        row.refresh_from_db()
        assert row.status == Status.SENT
    assert (waiting.attempts, failed.attempts) == (4, 10)
    sent.refresh_from_db()
    assert sent.attempts == 0  # a sent one is not sent again by "retry"
    assert sorted(m.to[0] for m in mail.outbox) == sorted([waiting.recipient, failed.recipient])


def test_a_failed_message_retried_gets_a_new_give_up_period(world, as_user, settings) -> None:  # noqa: ANN001
    settings.MAILERS = {"default": {"BACKEND": "mail.tests.helpers.RefusedBackend"}}
    failed = email(
        status=Status.FAILED,
        attempts=9,
        first_failure_at=timezone.now() - timezone.timedelta(days=3),
    )
    act(as_user(world.admin), "retry_now", [failed])
    failed.refresh_from_db()
    assert failed.status == Status.PENDING  # failing again, but since now
    assert failed.attempts == 10
    assert timezone.now() - failed.first_failure_at < timezone.timedelta(minutes=1)


def test_send_again_copies_a_sent_message_as_a_new_one(world, as_user) -> None:  # noqa: ANN001
    original = email(status=Status.SENT, sent_at=timezone.now(), attempts=1, user=world.alice)
    pending = email()

    response = act(as_user(world.admin), "send_again", [original, pending])

    assert "1 copy of a sent e-mail will be sent." in response.content.decode()
    copy = OutboundEmail.objects.get(resent_from=original)
    assert (copy.status, copy.attempts) == (Status.SENT, 1)
    assert (copy.recipient, copy.subject, copy.text, copy.html, copy.user) == (
        original.recipient,
        original.subject,
        original.text,
        original.html,
        world.alice,
    )
    assert copy.idempotency_key != original.idempotency_key
    assert copy.message_id != original.message_id
    [message] = mail.outbox
    assert message.extra_headers["Message-ID"] == copy.message_id
    assert not OutboundEmail.objects.filter(resent_from=pending).exists()
