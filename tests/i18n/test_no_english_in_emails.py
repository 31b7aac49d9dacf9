"""No English sentence of PosDesk's own in an e-mail to a Chinese reader (issue 12).

Every e-mail PosDesk sends is written twice from the same data, once for recipients
who read English and once for recipients who read Simplified Chinese: the ticket
e-mails of every event of the lived-in world (tests/i18n/conftest.py) to everyone who
hears of it, the warranty reminder, the password reset and the set-password link, and
the outages' e-mails (a suspected incident to the technicians, each update and the
resolution to the shops).
Subject, plain text and HTML are each checked with englishfinder.py. Every e-mail
template on disk must have been written, or the test names it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from devices import reminders
from mail.models import OutboundEmail
from outages import fanout
from outages import services as outages
from outages.models import IncidentUpdate
from portal import accounts
from portal.models import User
from tests.i18n.conftest import LivedIn, entered_data, rolled_back
from tests.i18n.englishfinder import compare_html, compare_plain
from tests.i18n.reading import LANGUAGES, report
from tickets import notifications
from tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db

# Kinds nobody is e-mailed about: the merchant's own (filed, rated), internal ones no
# rule mails, and one the lived-in world does not produce (routing after failing).
QUIET_KINDS = {"filed", "rated", "note", "assigned", "unassigned", "routing_recovered"}


def _every_email_template() -> set[str]:
    """`<directory>/<name>` of each e-mail on disk (its -subject.txt names it)."""
    templates = Path(settings.BASE_DIR) / "templates"
    return {
        str(path.relative_to(templates)).removesuffix("-subject.txt")
        for path in templates.glob("*/email/*-subject.txt")
    }


def _everyone_reads(language: str) -> None:
    User.objects.update(language=language)


def _compare(
    label: str, english: dict[str, str], chinese: dict[str, str], data: set[str]
) -> list[str]:
    found = []
    for part in ("subject", "text"):
        found += [f"{part}: {f}" for f in compare_plain(english[part], chinese[part], data)]
    found += [f"html: {f}" for f in compare_html(english["html"], chinese["html"], data)]
    return [f"{label} {finding}" for finding in found]


def _parts(row: OutboundEmail) -> dict[str, str]:
    return {"subject": row.subject, "text": row.text, "html": row.html}


def _django_parts(message: mail.EmailMultiAlternatives) -> dict[str, str]:
    html = next((content for content, kind in message.alternatives if kind == "text/html"), "")
    return {"subject": message.subject, "text": message.body, "html": html}


def test_every_email_is_chinese_for_a_chinese_reader(lived_in: LivedIn) -> None:
    data = entered_data(lived_in)
    findings: dict[str, list[str]] = {}
    written: set[str] = set()

    def compare(template: str, where: str, english: dict, chinese: dict) -> None:
        written.add(template)
        for finding in _compare(template, english, chinese, data):
            findings.setdefault(finding, []).append(where)

    # Ticket e-mails: every event, every recipient, as the event writer composes them.
    events = list(TicketEvent.objects.select_related("ticket", "actor").order_by("pk"))
    kinds_mailed = set()
    for event in events:
        rows = {}
        for language in LANGUAGES:
            _everyone_reads(language)
            rows[language] = {
                (row.kind, row.recipient): row
                for row in notifications.event_emails(
                    TicketEvent.objects.select_related("ticket", "actor").get(pk=event.pk)
                )
            }
            assert all(row.language == language for row in rows[language].values())
        assert rows["en"].keys() == rows["zh-hans"].keys()
        for (kind, recipient), english in rows["en"].items():
            kinds_mailed.add(event.kind)
            compare(
                f"tickets/email/{kind}",
                f"{event.ticket.reference} {event.kind} → {recipient}",
                _parts(english),
                _parts(rows["zh-hans"][(kind, recipient)]),
            )

    # The warranty reminder, written by the daily run.
    reminder = {}
    for language in LANGUAGES:
        _everyone_reads(language)
        with rolled_back():
            assert reminders.send_warranty_reminders(today=timezone.localdate()) >= 1
            row = OutboundEmail.objects.filter(kind="warranty_reminder").order_by("pk").first()
            reminder[language] = _parts(row)
    compare("devices/email/warranty_reminder", "reminder", reminder["en"], reminder["zh-hans"])

    # The arrivals digest a technician may choose instead of an e-mail per ticket: Xena's
    # window covers the lived-in world's tickets of X's queues.
    digest = {}
    xena = lived_in.world.xena
    for language in LANGUAGES:
        _everyone_reads(language)
        with rolled_back():
            User.objects.filter(pk=xena.pk).update(
                notify_arrivals="digest", digest_minutes=1440, digest_sent_until=None
            )
            assert notifications.send_digests(now=timezone.now() + timedelta(minutes=5)) >= 1
            row = OutboundEmail.objects.filter(kind="arrivals_digest").order_by("pk").first()
            digest[language] = _parts(row)
    compare("tickets/email/arrivals_digest", "digest", digest["en"], digest["zh-hans"])

    # Outages: the technicians hear of a suspected incident; the shops of each update.
    def outbox_rows(kind: str, write: Callable[[], object]) -> dict[str, dict]:
        """Each recipient's e-mail of `kind`, written again by `write` in each language."""
        rows = {}
        for language in LANGUAGES:
            _everyone_reads(language)
            with rolled_back():
                OutboundEmail.objects.filter(kind=kind).delete()
                write()
                rows[language] = {
                    row.recipient: _parts(row) for row in OutboundEmail.objects.filter(kind=kind)
                }
        assert rows["en"].keys() == rows["zh-hans"].keys() != set()
        return rows

    for name in ("suspected", "confirmed"):
        incident = lived_in.incidents[name]
        rows = outbox_rows("incident_opened", lambda i=incident: outages.alert_technicians(i))
        for recipient, english in rows["en"].items():
            where = f"{name} incident → {recipient}"
            compare("outages/email/incident_opened", where, english, rows["zh-hans"][recipient])
    updates = IncidentUpdate.objects.filter(public=True).select_related("incident__provider")
    for update in updates.order_by("pk"):
        # What fan_out mailed, written again from the same data (the fan-out itself runs
        # once per update, and the resolution's tickets are resolved already).
        reached = list(
            Ticket.objects.filter(incident_link__incident=update.incident)
            .order_by("pk")
            .values_list("pk", "merchant_id", "reference", "queue__provider_id")
        )
        rows = outbox_rows("incident_update", lambda u=update, r=reached: fanout._mail_shops(u, r))
        for recipient, english in rows["en"].items():
            where = f"{update.kind} → {recipient}"
            compare("outages/email/incident_update", where, english, rows["zh-hans"][recipient])

    # Getting back in: the reset asked for on the page, and the link an admin sends.
    alice = lived_in.world.alice
    reset, welcome = {}, {}
    for language in LANGUAGES:
        _everyone_reads(language)
        mail.outbox.clear()
        cache.clear()  # the reset e-mails per address are limited
        with rolled_back():
            Client().post(reverse("password_reset"), {"email": alice.email})
        (message,) = mail.outbox
        reset[language] = _django_parts(message)
        mail.outbox.clear()
        alice.refresh_from_db()
        assert accounts.send_set_password_link(alice)
        (message,) = mail.outbox
        welcome[language] = _django_parts(message)
    data |= {alice.get_username()}
    compare("registration/email/password_reset", "reset", reset["en"], reset["zh-hans"])
    compare("registration/email/set_password", "set password", welcome["en"], welcome["zh-hans"])

    assert _every_email_template() - written == set(), "e-mails never written"
    unmailed = set(TicketEvent.Kind.values) - kinds_mailed
    assert unmailed <= QUIET_KINDS, f"events of these kinds mailed nobody: {unmailed - QUIET_KINDS}"
    assert findings == {}, report(findings, "Chinese e-mails")
