"""Webhooks end to end: a reply in the web process, Redis, a real Celery worker on the
`webhooks` queue, and a real HTTP server that answers 500 once and then takes it."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from django.db import transaction

from portal.celery import app
from tests.factories import queued_ticket
from tests.integration.conftest import Worker
from tests.waiting import wait_until
from tickets import workflow
from webhooks.models import Delivery, Endpoint, Event
from webhooks.services import signature
from webhooks.tasks import sweep_webhooks
from webhooks.tests.conftest import Receiver, receiver  # noqa: F401 - the fixture

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("default_routing_data"),
]


def test_deliveries_are_routed_to_their_own_queue() -> None:
    for task in ("webhooks.tasks.deliver_webhooks", "webhooks.tasks.sweep_webhooks"):
        assert app.amqp.router.route({}, task)["queue"].name == "webhooks"


def test_a_worker_delivers_signed_and_retries_after_a_500(
    world,  # noqa: ANN001
    receiver: Receiver,  # noqa: F811
    celery_worker_factory: Callable[..., Worker],
    redis_url: str,
    publish: Callable,  # noqa: ARG001 - publishes to the test Redis
) -> None:
    worker = celery_worker_factory(
        redis_url,
        extra_env={"WEBHOOKS_ALLOW_LOOPBACK": "true", "WEBHOOKS_BACKOFF_BASE_SECONDS": "1"},
    )
    endpoint = Endpoint.objects.create(
        provider=world.provider_x, url=receiver.url, events=[Event.MERCHANT_REPLIED]
    )
    ticket = queued_ticket(world.device_a)
    receiver.answers = [500]
    with transaction.atomic():
        workflow.merchant_reply(ticket, world.alice, "Still dark.")

    assert wait_until(lambda: len(receiver.requests) == 1, timeout=30), worker.log()[-3000:]
    # Beat is not running here: the sweep task, sent by hand, makes the retry.
    assert wait_until(
        lambda: sweep_webhooks.delay() and len(receiver.requests) >= 2, timeout=30, interval=1
    ), worker.log()[-3000:]
    delivery = Delivery.objects.get()
    assert wait_until(
        lambda: Delivery.objects.get().status == Delivery.Status.DELIVERED, timeout=10
    )
    delivery.refresh_from_db()
    assert delivery.attempts == 2
    for request in receiver.requests:
        timestamp = request.headers["X-PosDesk-Timestamp"]
        assert request.headers["X-PosDesk-Signature"] == signature(
            endpoint.secret, int(timestamp), request.body
        )
        assert json.loads(request.body)["data"]["ticket"]["reference"] == ticket.reference
