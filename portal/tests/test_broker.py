"""A broker outage is one WARNING when it starts and one INFO when it ends, in every
process: the web (each filing), a sweep, beat's ticks and the worker's reconnect loop."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from unittest import mock

import pytest
from celery.beat import SchedulingError
from kombu.exceptions import OperationalError

from portal import broker, worker
from portal.celery import app as celery_app
from tests.factories import DeviceFactory
from tickets import services
from tickets.models import Ticket
from tickets.tasks import route_ticket
from tickets.tests.filing_helpers import filing_data

REFUSED = OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


@pytest.fixture(autouse=True)
def outage(monkeypatch: pytest.MonkeyPatch) -> broker.Outage:
    """A fresh process-wide state for each test."""
    fresh = broker.Outage()
    monkeypatch.setattr(broker, "outage", fresh)
    return fresh


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def _said(logs: pytest.LogCaptureFixture, level: int) -> list[logging.LogRecord]:
    return [record for record in logs.records if record.levelno == level]


def test_an_outage_is_one_warning_and_its_end_one_info(logs) -> None:  # noqa: ANN001
    with mock.patch.object(route_ticket, "apply_async", side_effect=REFUSED):
        assert [services.enqueue_routing(n) for n in range(3)] == [False, False, False]
    [warning] = _said(logs, logging.WARNING)
    assert "cannot be reached" in warning.getMessage()
    assert "Connection refused" in warning.getMessage()
    assert warning.exc_info is None  # no traceback
    assert not _said(logs, logging.INFO)

    with mock.patch.object(route_ticket, "apply_async"):
        assert services.enqueue_routing(4) is True
        assert services.enqueue_routing(5) is True
    [info] = _said(logs, logging.INFO)
    assert "reachable again" in info.getMessage()
    assert "3 failed attempts" in info.getMessage()
    assert not [record for record in logs.records if record.levelno >= logging.ERROR]


def test_the_next_outage_is_said_again(logs) -> None:  # noqa: ANN001
    for _ in range(2):
        with mock.patch.object(route_ticket, "apply_async", side_effect=REFUSED):
            services.enqueue_routing(1)
            services.enqueue_routing(2)
        with mock.patch.object(route_ticket, "apply_async"):
            services.enqueue_routing(3)
    assert len(_said(logs, logging.WARNING)) == 2
    assert len(_said(logs, logging.INFO)) == 2


def test_a_bug_in_what_is_sent_is_no_outage() -> None:
    with (
        mock.patch.object(route_ticket, "apply_async", side_effect=TypeError("not JSON")),
        pytest.raises(TypeError),
    ):
        services.enqueue_routing(1)
    assert not broker.outage.ongoing


def test_the_transports_own_connection_errors_are_an_outage() -> None:
    import redis

    assert broker.is_broker_error(ConnectionRefusedError())
    assert broker.is_broker_error(REFUSED)
    with mock.patch.object(
        celery_app,
        "connection_for_write",
        return_value=SimpleNamespace(connection_errors=(redis.ConnectionError,), channel_errors=()),
    ):
        assert broker.is_broker_error(redis.ConnectionError("gone"))
        assert not broker.is_broker_error(ValueError("bad"))


@pytest.mark.django_db
def test_filing_during_an_outage_logs_no_error_and_no_traceback(
    world,  # noqa: ANN001
    as_user,  # noqa: ANN001
    logs,  # noqa: ANN001
    django_capture_on_commit_callbacks,  # noqa: ANN001
) -> None:
    client = as_user(world.alice)
    devices = [world.device_a, *(DeviceFactory(merchant=world.merchant_a) for _ in range(2))]
    with (
        mock.patch.object(route_ticket, "apply_async", side_effect=REFUSED),
        django_capture_on_commit_callbacks(execute=True),
    ):
        for device in devices:
            response = client.post("/tickets/new/", filing_data(device))
            assert response.status_code == 302
    assert Ticket.objects.filter(status=Ticket.Status.NEW).count() == 3
    assert not [record for record in logs.records if record.levelno >= logging.ERROR]
    assert not [record for record in logs.records if record.exc_info]
    assert len(_said(logs, logging.WARNING)) == 1


# Beat ---------------------------------------------------------------------------------------


def _refused_by_the_broker(*args: object, **kwargs: object) -> None:
    # What celery.beat.Scheduler.apply_async raises: the broker's error as the context.
    try:
        raise REFUSED
    except OperationalError as error:
        raise SchedulingError("Couldn't apply scheduled task sweep") from error


def test_beat_says_an_outage_once_instead_of_a_traceback_per_tick(logs, tmp_path) -> None:  # noqa: ANN001
    scheduler = worker.Scheduler(app=celery_app, schedule_filename=str(tmp_path / "s"), lazy=True)
    entry = SimpleNamespace(task="tickets.tasks.sweep_unrouted", name="sweep")
    with mock.patch("celery.beat.Scheduler.apply_async", side_effect=_refused_by_the_broker):
        for _ in range(5):
            assert scheduler.apply_async(entry) is None
    assert len(_said(logs, logging.WARNING)) == 1
    assert not [record for record in logs.records if record.levelno >= logging.ERROR]
    with mock.patch("celery.beat.Scheduler.apply_async", return_value="sent"):
        assert scheduler.apply_async(entry) == "sent"
    assert len(_said(logs, logging.INFO)) == 1


def test_beat_still_raises_what_is_not_an_outage(tmp_path) -> None:  # noqa: ANN001
    scheduler = worker.Scheduler(app=celery_app, schedule_filename=str(tmp_path / "s"), lazy=True)
    entry = SimpleNamespace(task="tickets.tasks.sweep_unrouted", name="sweep")

    def bug(*args: object, **kwargs: object) -> None:
        try:
            raise KeyError("no such task")
        except KeyError as error:
            raise SchedulingError("Couldn't apply scheduled task sweep") from error

    with (
        mock.patch("celery.beat.Scheduler.apply_async", side_effect=bug),
        pytest.raises(SchedulingError),
    ):
        scheduler.apply_async(entry)


# The worker --------------------------------------------------------------------------------


class FakeConnection:
    """Fails `failures` times (calling the errback as kombu does), then connects."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.kwargs: dict = {}

    def ensure_connection(self, errback, max_retries, **kwargs):  # noqa: ANN001, ANN003, ANN201
        self.kwargs = kwargs
        for n in range(self.failures):
            errback(REFUSED, n + 1)
        return self


def _consumer() -> worker.Consumer:
    consumer = object.__new__(worker.Consumer)  # only what ensure_connected reads
    consumer.app = celery_app
    consumer.first_connection_attempt = False
    consumer.broker_connection_retry_attempt = 0
    return consumer


def test_the_worker_retries_the_broker_every_few_seconds(settings) -> None:  # noqa: ANN001
    settings.BROKER_RECONNECT_SECONDS = 5
    connection = FakeConnection(failures=0)
    assert _consumer().ensure_connected(connection) is connection
    assert connection.kwargs["interval_max"] == 5
    assert connection.kwargs["interval_start"] == 1
    assert "callback" in connection.kwargs  # Celery's shutdown check still runs


def test_the_worker_says_an_outage_once_not_at_every_retry(logs) -> None:  # noqa: ANN001
    consumer = _consumer()
    # Celery's own handler warns "Connection to broker lost" (and cleans up): that is
    # the one WARNING; ours only notes the outage.
    with mock.patch("celery.worker.consumer.Consumer.on_connection_error_after_connected") as own:
        consumer.on_connection_error_after_connected(REFUSED)
    own.assert_called_once_with(REFUSED)
    assert broker.outage.ongoing
    consumer.ensure_connected(FakeConnection(failures=20))
    assert not [record for record in logs.records if record.levelno >= logging.WARNING]
    [info] = _said(logs, logging.INFO)
    assert "reachable again" in info.getMessage()
    assert "21 failed attempts" in info.getMessage()


def test_a_worker_that_starts_without_a_broker_says_so_once(logs) -> None:  # noqa: ANN001
    _consumer().ensure_connected(FakeConnection(failures=20))
    [warning] = _said(logs, logging.WARNING)
    assert warning.name == "portal.broker"
    assert not [record for record in logs.records if record.levelno >= logging.ERROR]


def test_the_worker_announces_each_connection() -> None:
    step = worker.AfterConnect.__new__(worker.AfterConnect)
    received = []

    def receiver(**kwargs: object) -> None:
        received.append(kwargs)

    broker.worker_connected.connect(receiver, weak=False, dispatch_uid="test_announces")
    try:
        with mock.patch("tickets.tasks.broker.publish"):
            step.start(mock.Mock())
            step.start(mock.Mock())
    finally:
        broker.worker_connected.disconnect(dispatch_uid="test_announces")
    assert len(received) == 2


def test_the_worker_and_beat_use_these_classes() -> None:
    assert celery_app.conf.worker_consumer == "portal.worker:Consumer"
    assert celery_app.conf.beat_scheduler == "portal.worker:Scheduler"
    assert celery_app.conf.broker_connection_max_retries is None
    assert "portal.worker:AfterConnect" in worker.Consumer.Blueprint.default_steps
