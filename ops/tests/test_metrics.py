"""/metrics: behind its token, and the counters move as tickets are filed, routed,
swept and breach their SLA (in this process; tests/faults/test_ops_processes.py checks
them across two gunicorn workers and a real Celery worker)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from conftest import World, client_for
from tests.factories import TicketFactory
from tickets.models import Ticket
from tickets.tests.filing_helpers import filing_data

pytestmark = pytest.mark.django_db
TOKEN = "a-metrics-token-for-the-tests"


def scrape(client: Client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def token(settings) -> str:
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def test_metrics_are_a_404_without_a_configured_token(client: Client, settings) -> None:
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.parametrize("header", ["", "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x"])
def test_metrics_are_a_404_without_the_right_token(client: Client, token: str, header: str) -> None:
    assert client.get("/metrics", HTTP_AUTHORIZATION=header).status_code == 404


def test_metrics_refuse_a_logged_in_admin_without_the_token(world: World, token: str) -> None:
    assert client_for(world.admin).get("/metrics").status_code == 404


def test_filing_and_routing_move_the_counters(
    world: World, token: str, django_capture_on_commit_callbacks
) -> None:
    client = Client()
    before = scrape(client)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(world.alice).post("/tickets/new/", filing_data(world.device_a))
    assert response.status_code == 302
    ticket = Ticket.objects.get(merchant=world.merchant_a)
    assert ticket.routed_at is not None  # eager routing, on commit
    after = scrape(client)
    labels = {"category": ticket.category, "priority": str(ticket.priority)}
    assert value(after, "posdesk_tickets_filed_total", **labels) == (
        value(before, "posdesk_tickets_filed_total", **labels) + 1
    )
    assert value(after, "posdesk_tickets_routed_total") == (
        value(before, "posdesk_tickets_routed_total") + 1
    )
    assert value(after, "posdesk_routing_latency_seconds_count") == (
        value(before, "posdesk_routing_latency_seconds_count") + 1
    )
    # The filing's request is timed under its view's name.
    name = "posdesk_request_duration_seconds_count"
    view = {"view": "tickets:new", "method": "POST", "status": "3xx"}
    assert value(after, name, **view) == value(before, name, **view) + 1


def test_routing_the_same_ticket_again_counts_nothing(
    world: World, token: str, django_capture_on_commit_callbacks
) -> None:
    from tickets.tasks import route_ticket

    with django_capture_on_commit_callbacks(execute=True):
        client_for(world.alice).post("/tickets/new/", filing_data(world.device_a))
    ticket = Ticket.objects.get(merchant=world.merchant_a)
    before = scrape(Client())
    route_ticket.apply(args=[ticket.pk])  # delivered twice
    assert value(scrape(Client()), "posdesk_tickets_routed_total") == value(
        before, "posdesk_tickets_routed_total"
    )


def test_the_sweeper_and_sla_breaches_move_their_counters(
    world: World, token: str, django_capture_on_commit_callbacks
) -> None:
    from tickets.tasks import mark_sla_breaches, sweep_unrouted

    before = scrape(Client())
    # A ticket left `new` past the grace period (filed while the broker was down).
    ticket = TicketFactory(device=world.device_a, created_at=timezone.now() - timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        sweep_unrouted.apply()
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.QUEUED
    # Routed by the sweep; now its first response is late.
    Ticket.objects.filter(pk=ticket.pk).update(
        first_response_due=timezone.now() - timedelta(hours=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        mark_sla_breaches.apply()
    after = scrape(Client())
    assert value(after, "posdesk_sweeper_requeued_total") == (
        value(before, "posdesk_sweeper_requeued_total") + 1
    )
    which = {"which": "first_response"}
    assert value(after, "posdesk_sla_breaches_total", **which) == (
        value(before, "posdesk_sla_breaches_total", **which) + 1
    )


def test_a_failing_routing_counts_the_failure_and_the_ticket_given_up(
    world: World, token: str, settings, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    from tickets import routing
    from tickets.tasks import route_ticket

    settings.ROUTING_MAX_ATTEMPTS = 1
    ticket = TicketFactory(device=world.device_a)

    def broken(ticket: Ticket) -> None:
        raise ValueError("a rule that cannot be evaluated")

    monkeypatch.setattr(routing, "decide", broken)
    before = scrape(Client())
    with django_capture_on_commit_callbacks(execute=True):
        result = route_ticket.apply(args=[ticket.pk])
    assert result.failed()
    ticket.refresh_from_db()
    assert ticket.routing_failed
    after = scrape(Client())
    failure = {"outcome": "failure"}
    assert value(after, "posdesk_routing_task_failures_total", **failure) == (
        value(before, "posdesk_routing_task_failures_total", **failure) + 1
    )
    assert value(after, "posdesk_tickets_routing_failed_total") == (
        value(before, "posdesk_tickets_routing_failed_total") + 1
    )
    assert value(after, "posdesk_tickets_routed_total") == value(
        before, "posdesk_tickets_routed_total"
    )


def test_queue_lengths_and_the_outbox_are_read_at_scrape(world: World, token: str) -> None:
    from mail.models import OutboundEmail

    samples = scrape(Client())
    pending = OutboundEmail.objects.filter(status=OutboundEmail.Status.PENDING).count()
    assert value(samples, "posdesk_email_outbox", status="pending") == pending
    assert ("posdesk_email_outbox", (("status", "failed"),)) in samples


def test_the_grafana_dashboard_queries_only_metrics_we_export() -> None:
    import json
    import re
    from pathlib import Path

    from django.conf import settings

    from ops import metrics

    dashboard = json.loads(
        (Path(settings.BASE_DIR) / "docker/grafana/posdesk-dashboard.json").read_text()
    )
    exported = {
        "posdesk_celery_queue_length",
        "posdesk_email_outbox",
        *(
            name
            for value in vars(metrics).values()
            if hasattr(value, "_name")
            for name in (value._name, f"{value._name}_total", f"{value._name}_bucket")
            + (f"{value._name}_count",)
        ),
    }
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"posdesk_[a-z_]+", target["expr"])
    }
    assert queried
    assert queried <= exported, queried - exported


def test_a_management_command_leaves_no_samples_behind(tmp_path) -> None:
    # `migrate` runs at every start of the web container, a shell now and then: files of
    # processes that counted nothing would pile up in PROMETHEUS_MULTIPROC_DIR.
    from portal.tests.test_settings import run_python

    folder = tmp_path / "metrics"
    result = run_python(
        ["manage.py", "check"], "portal.settings_test", PROMETHEUS_MULTIPROC_DIR=str(folder)
    )
    assert result.returncode == 0, result.stderr
    assert not folder.exists() or not list(folder.iterdir())
