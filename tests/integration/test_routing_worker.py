"""Filing and routing end to end: the web form, Redis, and a real Celery worker process.

The tests are transactional (the worker is another process and sees only committed
rows); the `default_routing_data` fixture puts the migrated rules back after a flush.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import pytest
from django.test import Client

from tests.factories import TicketFactory
from tests.integration.conftest import Worker, publishing_to
from tests.waiting import free_port, wait_until
from tickets import services
from tickets.models import Category, Ticket, TicketEvent
from tickets.tasks import route_ticket
from tickets.tests.filing_helpers import filing_data

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("default_routing_data"),
]

ROUTE_TIMEOUT = 60
CATEGORIES = [Category.HARDWARE, Category.NETWORK, Category.SOFTWARE, Category.TRANSACTION]


def _logged_in(user) -> Client:  # noqa: ANN001
    client = Client()
    client.force_login(user)
    return client


def _all_routed(ids: list[int]) -> bool:
    return Ticket.objects.filter(pk__in=ids, status=Ticket.Status.QUEUED).count() == len(ids)


def _assert_routed_once(ids: list[int], worker: Worker) -> None:
    assert wait_until(lambda: _all_routed(ids), timeout=ROUTE_TIMEOUT), worker.log()[-4000:]
    for ticket in Ticket.objects.filter(pk__in=ids):
        assert ticket.queue_id is not None
        assert ticket.events.filter(kind=TicketEvent.Kind.ROUTED).count() == 1, ticket


def test_twenty_tickets_filed_through_the_web_form_are_all_routed(
    world,
    celery_worker: Worker,
    publish: Callable,  # noqa: ARG001 - publishes to the test Redis
) -> None:
    client = _logged_in(world.alice)
    for n in range(20):
        category = CATEGORIES[n % len(CATEGORIES)]
        response = client.post(
            "/tickets/new/",
            # The shop files each as its own ticket, open twins on the terminal or not.
            filing_data(
                world.device_a, category, description=f"Fault number {n}", action="file_anyway"
            ),
        )
        assert response.status_code == 302, response.content[:500]
    ids = list(Ticket.objects.values_list("pk", flat=True))
    assert len(ids) == 20
    _assert_routed_once(ids, celery_worker)
    # Routed by the default rules, each to a queue of Provider X, none to the fallback.
    assert not Ticket.objects.filter(needs_admin=True).exists()
    assert set(Ticket.objects.values_list("queue__provider", flat=True)) == {world.provider_x.pk}


def test_the_same_task_delivered_twice_routes_once(
    world,
    celery_worker: Worker,
    publish: Callable,  # noqa: ARG001
) -> None:
    ticket = TicketFactory(device=world.device_a, reporter=world.alice)
    task_id = str(uuid.uuid4())
    route_ticket.apply_async((ticket.pk,), task_id=task_id)
    route_ticket.apply_async((ticket.pk,), task_id=task_id)
    # The solo worker takes tasks in order: once this one is routed, both copies ran.
    sentinel = TicketFactory(device=world.device_a, reporter=world.alice)
    route_ticket.apply_async((sentinel.pk,))
    _assert_routed_once([ticket.pk, sentinel.pk], celery_worker)
    assert wait_until(
        lambda: celery_worker.log().count(f"route_ticket[{task_id}] succeeded") == 2,
        timeout=ROUTE_TIMEOUT,
    ), celery_worker.log()[-4000:]
    assert ticket.events.filter(kind=TicketEvent.Kind.ROUTED).count() == 1


def test_filing_survives_a_dead_broker_and_the_sweeper_routes_it_later(
    world,
    settings,  # noqa: ANN001
    redis_url: str,
    celery_worker_factory: Callable[..., Worker],
) -> None:
    dead_broker = f"redis://127.0.0.1:{free_port()}/0"
    client = _logged_in(world.alice)
    with publishing_to(dead_broker):
        started = time.monotonic()
        response = client.post("/tickets/new/", filing_data(world.device_a))
        elapsed = time.monotonic() - started
        assert response.status_code == 302
        page = client.get(response.url)
    # The broker's connect timeouts keep a dead broker from holding the request up.
    assert elapsed < 10, f"filing took {elapsed:.1f}s with the broker down"
    assert page.status_code == 200
    ticket = Ticket.objects.get()
    assert ticket.status == Ticket.Status.NEW
    assert ticket.queue is None
    assert ticket.events.get().kind == TicketEvent.Kind.FILED

    # The broker answers again: the beat sweeper re-enqueues, a worker routes it.
    settings.ROUTING_GRACE_SECONDS = 0
    worker = celery_worker_factory(redis_url)
    with publishing_to(redis_url):
        result = services.sweep_unrouted()
    assert result["requeued"] == 1
    _assert_routed_once([ticket.pk], worker)
    ticket.refresh_from_db()
    assert ticket.route_attempts == 1


def test_routing_goes_before_a_backlog_of_emails(
    world,
    celery_worker_factory: Callable[..., Worker],
    redis_url: str,
    publish: Callable,  # noqa: ARG001
) -> None:
    """E-mails have their own queue, served after the routing queue: a ticket filed
    behind a burst of notifications is routed first, not after all of them."""
    from tickets.tasks import send_event_email

    noisy = TicketFactory(device=world.device_a, reporter=world.alice)
    event = noisy.events.create(kind=TicketEvent.Kind.FILED, public=True)
    for _ in range(20):
        send_event_email.apply_async((event.pk,))
    ticket = TicketFactory(device=world.device_a, reporter=world.alice)
    task_id = route_ticket.apply_async((ticket.pk,)).id
    worker = celery_worker_factory(redis_url)  # started with all the tasks waiting
    _assert_routed_once([ticket.pk], worker)
    routed_line = f"route_ticket[{task_id}] succeeded"
    assert wait_until(lambda: routed_line in worker.log(), timeout=ROUTE_TIMEOUT)
    before = worker.log().split(routed_line)[0]
    # A solo worker may already hold one e-mail when it starts consuming; never more.
    assert before.count("send_event_email[") <= 2, before[-4000:]  # received + succeeded


def _worker_connections() -> set[int]:
    """Backend pids of the other sessions on the test database (the worker's)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return {row[0] for row in cursor.fetchall()}


def test_the_worker_keeps_its_database_connection_between_tasks(
    world,
    celery_worker_factory: Callable[..., Worker],
    redis_url: str,
    publish: Callable,  # noqa: ARG001
) -> None:
    """As the web does between requests (DB_CONN_MAX_AGE): not a new PostgreSQL
    connection for every task, which Celery's Django fix-up did by default."""
    worker = celery_worker_factory(redis_url, extra_env={"DB_CONN_MAX_AGE": "60"})
    first = TicketFactory(device=world.device_a, reporter=world.alice)
    route_ticket.apply_async((first.pk,))
    _assert_routed_once([first.pk], worker)
    assert wait_until(lambda: len(_worker_connections()) == 1, timeout=ROUTE_TIMEOUT)
    used = _worker_connections()
    more = [TicketFactory(device=world.device_a, reporter=world.alice).pk for _ in range(3)]
    for pk in more:
        route_ticket.apply_async((pk,))
    _assert_routed_once(more, worker)
    assert _worker_connections() == used
