"""Stored XSS: script in every free-text field renders as text on every page that shows it.

Tickets are put through their real life (routing, the workflow functions) with a
payload in each text a merchant, a technician or an admin can type. Every page of
every role is then fetched: no page may carry a payload as markup, and each field
must appear, escaped, on the pages that are meant to show it (so a page that
stopped showing a field does not pass by accident).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from devices.models import Device
from tests.factories import DeviceFactory, TicketFactory
from tickets import routing, workflow
from tickets.models import Category, Queue, RoutingRule, Ticket, TicketEvent
from tickets.notifications import send_event_emails

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
# As markup, in any letter case (a field may be upper-cased on the way, e.g. serials).
RAW = [
    re.compile(re.escape(SCRIPT), re.I),
    re.compile(re.escape("<img src=x onerror=alert(1)>"), re.I),
]


def payload(tag: str) -> str:
    return f"{SCRIPT}{IMG}{tag}"


def short_payload(tag: str) -> str:
    return f"{IMG}{tag}"[:32]


@dataclass
class Stored:
    device: Device
    waiting: Ticket  # paid repair, claimed, replies, a note, a question, a pending quote
    resolved: Ticket
    rated: Ticket
    cancelled: Ticket
    fallback: Ticket  # routed by a rule whose name is a payload
    rule: RoutingRule


def routed(device: Device, reporter, **fields) -> Ticket:  # noqa: ANN001, ANN003
    ticket = TicketFactory(device=device, reporter=reporter, **fields)
    return routing.route(ticket.pk)


@pytest.fixture
def stored(world) -> Stored:  # noqa: ANN001
    alice, xavier = world.alice, world.xavier
    world.merchant_a.name = payload("merchant")
    world.merchant_a.save()
    world.provider_x.name = payload("provider")
    world.provider_x.save()
    xavier.first_name = payload("techname")
    xavier.save()
    device = world.device_a
    device.location = payload("location")
    device.save()
    device.model.name = payload("model")[:80]
    device.model.save()
    device.model.brand.name = payload("brand")[:80]
    device.model.brand.save()
    out_of_warranty = DeviceFactory(
        merchant=world.merchant_a,
        provider=world.provider_x,
        acquirer=world.provider_x,
        model=device.model,
        purchase_date=date.today() - timedelta(days=900),
        warranty_end=date.today() - timedelta(days=100),
        location=payload("location2"),
    )

    waiting = routed(
        out_of_warranty,
        alice,
        description=payload("description"),
        error_code=short_payload("err"),
    )
    assert waiting.billable, waiting.routing_note
    workflow.claim(waiting, xavier)
    workflow.reply(waiting, xavier, payload("techreply"))
    workflow.note(waiting, xavier, payload("internalnote"))
    workflow.issue_loaner(waiting, xavier, payload("loaner")[:64])
    workflow.ask(waiting, xavier, payload("question"))
    workflow.merchant_reply(waiting, alice, payload("merchantreply"))
    workflow.send_quote(waiting, xavier, Decimal("180.00"), payload("quote"))

    resolved = routed(device, alice, description=payload("description2"))
    workflow.claim(resolved, xavier)
    remote_x = Queue.objects.get(provider=world.provider_x, kind=Queue.Kind.REMOTE_SUPPORT)
    workflow.transfer(resolved, xavier, remote_x, payload("transfer"))
    workflow.claim(resolved, xavier)
    workflow.resolve(resolved, xavier, Ticket.Resolution.REMOTE_FIX, payload("resolution"))

    rated = routed(device, alice, description=payload("description3"))
    workflow.claim(rated, xavier)
    workflow.resolve(rated, xavier, Ticket.Resolution.REMOTE_FIX, "Fixed")
    workflow.reopen(rated, alice, payload("reopen"))
    workflow.resolve(rated, xavier, Ticket.Resolution.REMOTE_FIX, "Fixed again")
    workflow.confirm(rated, alice)
    workflow.rate(rated, alice, 4, payload("rating"))

    cancelled = routed(device, alice, description="Dead screen")
    workflow.cancel(cancelled, alice, payload("cancel"))

    rule = RoutingRule.objects.create(
        order=1,
        name=payload("rule"),
        category=Category.OTHER,
        target_party=RoutingRule.Party.PLATFORM,
        target_kind="warranty_repair",  # the platform has none: the fallback names the rule
    )
    fallback = routed(device, alice, category=Category.OTHER, symptom="other")
    assert "rule" in fallback.routing_note, fallback.routing_note
    for ticket in (waiting, resolved, rated, cancelled, fallback):
        ticket.refresh_from_db()
    return Stored(device, waiting, resolved, rated, cancelled, fallback, rule)


def pages(world, stored: Stored) -> dict[str, tuple[object, str]]:  # noqa: ANN001
    """Every page, by a short name, with the user who looks at it."""
    alice, xavier, admin = world.alice, world.xavier, world.admin
    out: dict[str, tuple[object, str]] = {
        "devices:list": (alice, reverse("devices:list")),
        "devices:detail": (alice, reverse("devices:detail", args=[stored.device.pk])),
        "devices:edit": (alice, reverse("devices:edit", args=[stored.device.pk])),
        "tickets:list": (alice, reverse("tickets:list")),
        "tickets:new": (alice, reverse("tickets:new")),
        "tickets:new-step2": (
            alice,
            reverse("tickets:new") + f"?device={stored.device.pk}&category=hardware",
        ),
        "work": (xavier, reverse("tickets:work")),
        "queue-paid": (xavier, reverse("tickets:queue", args=[stored.waiting.queue_id])),
        "queue-warranty": (xavier, reverse("tickets:queue", args=[stored.resolved.queue_id])),
        "admin:rules": (admin, reverse("admin:tickets_routingrule_changelist")),
        "admin:rule": (admin, reverse("admin:tickets_routingrule_change", args=[stored.rule.pk])),
        "admin:tickets": (admin, reverse("admin:tickets_ticket_changelist")),
        "admin:devices": (admin, reverse("admin:devices_device_changelist")),
        "admin:merchants": (admin, reverse("admin:devices_merchant_changelist")),
    }
    for label in ("waiting", "resolved", "rated", "cancelled", "fallback"):
        ticket = getattr(stored, label)
        out[f"tickets:detail-{label}"] = (alice, reverse("tickets:detail", args=[ticket.reference]))
        out[f"admin:ticket-{label}"] = (
            admin,
            reverse("admin:tickets_ticket_change", args=[ticket.pk]),
        )
        if label != "fallback":  # in the platform's triage queue: no technician sees it
            out[f"work_ticket-{label}"] = (
                xavier,
                reverse("tickets:work_ticket", args=[ticket.reference]),
            )
    return out


# Where each field must show up (escaped). Other pages may show it too.
EXPECTED = {
    "location": ["devices:list", "devices:detail", "devices:edit", "work_ticket-resolved"],
    "description": ["tickets:detail-waiting", "work_ticket-waiting"],
    "err": ["tickets:detail-waiting", "work_ticket-waiting"],
    "techreply": ["tickets:detail-waiting", "work_ticket-waiting"],
    "internalnote": ["work_ticket-waiting"],
    "question": ["tickets:detail-waiting", "work_ticket-waiting"],
    "merchantreply": ["tickets:detail-waiting", "work_ticket-waiting"],
    "quote": ["tickets:detail-waiting", "work_ticket-waiting"],
    "loaner": ["work_ticket-waiting"],
    "resolution": ["tickets:detail-resolved"],
    "cancel": ["tickets:detail-cancelled"],
    "transfer": ["work_ticket-resolved"],
    "reopen": ["tickets:detail-rated", "work_ticket-rated"],
    "rule": ["admin:rules", "admin:rule", "tickets:detail-fallback"],
    "merchant": ["work_ticket-waiting", "admin:merchants"],
    "provider": ["tickets:detail-waiting"],
    "model": ["devices:detail"],
}


def shown(content: str, tag: str) -> bool:
    values = [payload(tag), short_payload(tag), payload(tag)[:80], payload(tag)[:64].upper()]
    return any(escape(value) in content for value in values)


def test_no_page_renders_a_payload_as_markup(world, stored: Stored) -> None:  # noqa: ANN001
    clients: dict[int, Client] = {}
    contents = {}
    for name, (user, path) in pages(world, stored).items():
        client = clients.setdefault(user.pk, Client())
        client.force_login(user)
        response = client.get(path)
        assert response.status_code == 200, f"{name}: {path} answered {response.status_code}"
        content = response.content.decode()
        for raw in RAW:
            match = raw.search(content)
            assert match is None, (
                f"{name} ({path}) renders a payload as markup: "
                f"…{content[max(0, match.start() - 120) : match.end() + 40]}…"
            )
        contents[name] = content

    missing = [
        f"{tag} on {name}"
        for tag, names in EXPECTED.items()
        for name in names
        if not shown(contents[name], tag)
    ]
    assert not missing, "escaped payload not found (is the field still shown?): " + ", ".join(
        missing
    )
    # Internal notes never reach the merchant, escaped or not.
    assert "internalnote" not in contents["tickets:detail-waiting"]


def test_html_emails_escape_what_people_typed(world, stored: Stored) -> None:  # noqa: ANN001
    events = TicketEvent.objects.filter(ticket=stored.waiting).exclude(body="")
    assert events.count() >= 4
    mail.outbox.clear()
    for event in events:
        send_event_emails(event.pk)
    assert mail.outbox, "no e-mail was sent for the ticket's events"
    html = [
        content
        for message in mail.outbox
        for content, mimetype in message.alternatives
        if mimetype == "text/html"
    ]
    assert html, "the e-mails have no HTML part"
    for content in html:
        for raw in RAW:
            assert raw.search(content) is None, content[:800]
    assert any(shown(content, "techreply") or shown(content, "question") for content in html)
