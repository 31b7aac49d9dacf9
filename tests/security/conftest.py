"""A world with something to steal: each side's tickets, attachments, queues and quotes.

Merchant A (alice) and provider X (xavier) own the "own" objects; merchant B and
provider Y own the "foreign" ones, which must stay invisible to alice and xavier.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django.db import connection

from devices.models import Device, Membership
from outages.models import Incident
from portal.models import User
from tests.factories import TicketFactory
from tickets.models import (
    Attachment,
    CannedReply,
    Queue,
    Quote,
    SavedView,
    Ticket,
    TicketEvent,
)

# A valid 1x1 PNG: attachments must be real files of an allowed type.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4"
    "890000000d4944415478da63f8cfc0f01f0005000201a5d5d4d20000000049454e44ae426082"
)


@dataclass
class Scenario:
    world: object
    ticket_a: Ticket  # merchant A's, in provider X's warranty queue
    ticket_b: Ticket  # merchant B's, in provider Y's warranty queue
    attachment_a: Attachment
    attachment_b: Attachment
    queue_x: Queue
    queue_y: Queue
    quote_a: Quote
    quote_b: Quote
    incident_x: Incident  # provider X's, in Shop A's city: A's terminal is covered
    incident_y: Incident  # provider Y's
    canned_x: CannedReply
    canned_y: CannedReply
    saved_view_x: SavedView  # xavier's
    saved_view_y: SavedView  # yuri's

    def side_a(self) -> dict[str, object]:
        """Ids of merchant A's / provider X's objects, by kind: alice's and xavier's own."""
        return {
            "device": self.world.device_a.pk,
            "ticket": self.ticket_a.reference,
            "attachment": self.attachment_a.pk,
            "queue": self.queue_x.pk,
            "incident": self.incident_x.pk,
            "canned": self.canned_x.pk,
            "saved_view": self.saved_view_x.pk,
            **webhook_ids(self.world.provider_x),
        }

    def side_b(self) -> dict[str, object]:
        """Ids of merchant B's / provider Y's objects: foreign to alice and xavier alike."""
        return {
            "device": self.world.device_b.pk,
            "ticket": self.ticket_b.reference,
            "attachment": self.attachment_b.pk,
            "queue": self.queue_y.pk,
            "incident": self.incident_y.pk,
            "canned": self.canned_y.pk,
            "saved_view": self.saved_view_y.pk,
            **webhook_ids(self.world.provider_y),
        }


def routed_ticket(device: Device, reporter: User, kind: str = Queue.Kind.WARRANTY_REPAIR) -> Ticket:
    """A ticket placed straight into the device provider's queue (routing is tested elsewhere)."""
    queue = Queue.objects.get(provider=device.provider, kind=kind)
    ticket = TicketFactory(device=device, reporter=reporter)
    ticket.queue = queue
    ticket.status = Ticket.Status.QUEUED
    ticket.billable = kind == Queue.Kind.PAID_REPAIR
    ticket.routing_note = f"Test routing into {queue.name}"
    ticket.set_sla_due()
    ticket.save()
    TicketEvent.objects.create(
        ticket=ticket, kind=TicketEvent.Kind.ROUTED, body=ticket.routing_note
    )
    return ticket


def attach(ticket: Ticket, user: User, name: str = "screen.png") -> Attachment:
    attachment = Attachment(
        ticket=ticket,
        original_name=name,
        content_type="image/png",
        size=len(PNG),
        uploaded_by=user,
    )
    attachment.file.save(name, ContentFile(PNG), save=False)
    attachment.save()
    return attachment


@pytest.fixture
def media_root(settings, tmp_path):  # noqa: ANN001, ANN201
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


@pytest.fixture
def scenario(world, media_root) -> Scenario:  # noqa: ANN001
    # Both technicians manage their provider: the manager-only pages are in scope too.
    Membership.objects.filter(user__in=[world.xavier, world.yuri]).update(manager=True)
    ticket_a = routed_ticket(world.device_a, world.alice)
    ticket_b = routed_ticket(world.device_b, world.bob)
    return Scenario(
        world=world,
        ticket_a=ticket_a,
        ticket_b=ticket_b,
        attachment_a=attach(ticket_a, world.alice),
        attachment_b=attach(ticket_b, world.bob),
        queue_x=ticket_a.queue,
        queue_y=ticket_b.queue,
        quote_a=Quote.objects.create(
            ticket=ticket_a, amount=Decimal("100"), covers="A", created_by=world.xavier
        ),
        quote_b=Quote.objects.create(
            ticket=ticket_b, amount=Decimal("100"), covers="B", created_by=world.yuri
        ),
        incident_x=_incident(world.provider_x, world.xavier),
        incident_y=_incident(world.provider_y, world.yuri),
        canned_x=CannedReply.objects.create(
            provider=world.provider_x, title="Restart", body="Restart the terminal."
        ),
        canned_y=CannedReply.objects.create(
            provider=world.provider_y, title="Restart", body="Restart the terminal."
        ),
        saved_view_x=SavedView.objects.create(
            user=world.xavier, queue=ticket_a.queue, name="Mine", params={"assigned": "me"}
        ),
        saved_view_y=SavedView.objects.create(
            user=world.yuri, queue=ticket_b.queue, name="Mine", params={"assigned": "me"}
        ),
    )


def webhook_ids(provider) -> dict[str, int]:  # noqa: ANN001
    """A webhook endpoint of `provider` and one delivery to it (made once, then the same)."""
    from webhooks.models import Delivery, Endpoint

    endpoint, _ = Endpoint.objects.get_or_create(
        provider=provider,
        url="https://crm.example.com/hook",
        defaults={"events": ["ticket.routed"]},
    )
    delivery, _ = Delivery.objects.get_or_create(
        endpoint=endpoint, source="scope", event="ticket.routed", defaults={"body": "{}"}
    )
    return {"webhook": endpoint.pk, "webhook_delivery": delivery.pk}


def _incident(provider, technician: User) -> Incident:  # noqa: ANN001
    """An open outage of every kind of fault in the shops' city, handled by `provider`."""
    from outages import services

    return services.declare(
        provider=provider,
        user=technician,
        category="network",
        city="Shanghai",
        summary="Payment host unreachable",
    )


# Form fields a crafted POST might carry: enough for any of our forms to be valid, so a
# view that validates before checking scope would act (and be caught by the fingerprint).
def crafted_post(scenario: Scenario) -> dict[str, object]:
    world = scenario.world
    return {
        "body": "crafted",
        "text": "crafted",
        "message": "crafted",
        "note": "crafted",
        "reason": "crafted",
        "cancel_reason": "crafted",
        "amount": "120.00",
        "covers": "crafted",
        "resolution_code": Ticket.Resolution.REMOTE_FIX,
        "resolution_note": "crafted",
        "rating": "1",
        "rating_comment": "crafted",
        "comment": "crafted",
        "assignee": str(world.xavier.pk),
        "assigned_to": str(world.xavier.pk),
        "queue": str(scenario.queue_x.pk),
        "loaner_serial": "LOANER1",
        "serial": "LOANER1",
        "location": "crafted",
        "serial_number": "CRAFTED1",
        "warranty_end": "2030-12-31",
        "void": "",
        "void_reason": "",
        "source": "proof",
        "purchase_date": "2020-01-01",
    }


FINGERPRINT_APPS = ("devices", "tickets", "portal", "outages", "mail")


@functools.cache
def _fingerprint_sql() -> tuple[list[str], str]:
    labels, parts = [], []
    for app in FINGERPRINT_APPS:
        for model in apps.get_app_config(app).get_models():
            table = connection.ops.quote_name(model._meta.db_table)
            labels.append(model._meta.label)
            parts.append(f"(SELECT count(*) FROM {table})")
            if any(f.name == "updated_at" for f in model._meta.get_fields()):
                labels.append(f"{model._meta.label}.updated_at")
                parts.append(f"(SELECT max(updated_at) FROM {table})")
    return labels, "SELECT " + ", ".join(parts)


def fingerprint() -> dict[str, object]:
    """Row counts of every model of ours plus the latest change times: any write shows.

    One query, since the security suite takes it around thousands of requests.
    """
    labels, sql = _fingerprint_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return dict(zip(labels, cursor.fetchone(), strict=True))
