"""One update for all: every linked ticket's timeline, one e-mail per shop in its
language, a fixed number of queries; resolving resolves them and each can reopen."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from mail.models import OutboundEmail
from outages import services
from outages.detection import check
from outages.fanout import fan_out
from outages.models import Downtime, Incident, IncidentUpdate
from outages.tests.helpers import host_down_ticket, shop
from tests.factories import ProviderFactory, UserFactory, member_of
from tickets import workflow
from tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def outage(provider, shops: int, *, chinese: int = 0) -> Incident:  # noqa: ANN001
    now = timezone.now() - timedelta(minutes=1)
    tickets = []
    for n in range(shops):
        merchant = shop()
        if n < chinese:
            merchant.members.update(language="zh-hans")
        tickets.append(host_down_ticket(provider, merchant, at=now))
    return services.declare(
        provider=provider,
        user=None,
        category="network",
        symptoms=["host"],
        city="Shanghai",
        summary="Payment host unreachable",
        summary_zh_hans="支付主机无法连接",
    )


def update_queries(provider, shops: int) -> int:  # noqa: ANN001
    incident = outage(provider, shops)
    tech = member_of(UserFactory(), provider=provider)
    update = services.post_update(incident, tech, "Engineers are on it.", "工程师正在处理。")
    with CaptureQueriesContext(connection) as queries:
        assert fan_out(update.pk) == shops
    return len(queries)


def test_an_update_reaches_every_ticket_and_each_shop_once_in_its_language() -> None:
    provider = ProviderFactory(name="ICBC Merchant Services")
    incident = outage(provider, 4, chinese=1)
    # A shop with two linked terminals hears once, of both tickets.
    two = shop()
    first = host_down_ticket(provider, two)
    second = host_down_ticket(provider, two)
    for ticket in (first, second):
        check(ticket.pk)
    tech = member_of(UserFactory(), provider=provider)
    update = services.post_update(incident, tech, "Engineers are on it.", "工程师正在处理。")

    assert fan_out(update.pk) == 6
    assert fan_out(update.pk) == 0  # delivered twice: nothing more

    events = TicketEvent.objects.filter(kind=TicketEvent.Kind.INCIDENT_UPDATE)
    assert events.count() == 6
    with translation.override("zh-hans"):
        assert "工程师正在处理。" in events.first().text
    with translation.override("en"):
        assert "Engineers are on it." in events.first().text
    emails = OutboundEmail.objects.filter(kind="incident_update")
    assert emails.count() == 5  # one per person of each of the five shops
    assert emails.filter(language="zh-hans").count() == 1
    assert "工程师正在处理" in emails.get(language="zh-hans").text
    both = emails.get(user__membership__merchant=two)
    assert first.reference in both.subject
    assert second.reference in both.subject
    assert IncidentUpdate.objects.get(pk=update.pk).tickets_reached == 6


def test_fan_out_queries_do_not_grow_with_the_linked_tickets() -> None:
    few = update_queries(ProviderFactory(), 2)
    many = update_queries(ProviderFactory(), 25)
    assert few == many


def test_resolving_resolves_the_tickets_ends_downtime_and_a_shop_can_reopen() -> None:
    provider = ProviderFactory()
    incident = outage(provider, 3)
    tickets = list(Ticket.objects.filter(incident_link__incident=incident))
    assert Downtime.objects.filter(ticket__in=tickets).count() == 0  # built without filing
    for ticket in tickets:
        services.start_downtime(ticket)
    tech = member_of(UserFactory(), provider=provider)
    services.resolve(incident, tech, "The host is back.", "主机已恢复。")
    update = incident.updates.get(kind=IncidentUpdate.Kind.RESOLVED)

    with CaptureQueriesContext(connection) as queries:
        fan_out(update.pk)
    assert len(queries) < 20

    for ticket in tickets:
        ticket.refresh_from_db()
        assert ticket.status == Ticket.Status.RESOLVED
        assert ticket.resolution_code == Ticket.Resolution.INCIDENT_OVER
        assert ticket.events.filter(kind=TicketEvent.Kind.RESOLVED).count() == 1
    assert not Downtime.objects.filter(ended_at__isnull=True).exists()
    assert set(Downtime.objects.values_list("ended_how", flat=True)) == {"resolved"}
    emails = OutboundEmail.objects.filter(kind="incident_update")
    assert emails.count() == 3
    assert "reconcile" in emails.first().text

    merchant_user = tickets[0].merchant.members.get()
    workflow.reopen(tickets[0], merchant_user, "Still cannot pay.")
    tickets[0].refresh_from_db()
    assert tickets[0].status == Ticket.Status.IN_PROGRESS
