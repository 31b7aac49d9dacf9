"""Metrics and log lines across processes: two gunicorn workers and a real Celery worker
(each its own process) on one PostgreSQL and a private Redis.

A shop files tickets through gunicorn in parallel, so both workers take some; the
Celery worker routes them and sends their e-mails. Then:

- one scrape of /metrics counts every filing and routing, whichever process did it
  (prometheus-client's multiprocess mode, PROMETHEUS_MULTIPROC_DIR shared by all);
- every line gunicorn wrote parses as JSON, and one filing's request id is on its
  request line, on the worker's routing of that ticket and on the e-mail task that
  routing queued.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings
from prometheus_client.parser import text_string_to_metric_families

from mail.models import OutboundEmail
from tests.factories import PASSWORD, DeviceFactory
from tests.faults.services import (
    PROJECT_DIR,
    PYTHON,
    CeleryProcess,
    PrivateRedis,
    django_env,
    http_ok,
    missing,
    stop_process,
)
from tests.integration.conftest import database_url_for_tests
from tests.waiting import free_port, wait_until
from tests.webclient import Response, WebClient
from tickets.models import Ticket
from tickets.tests.filing_helpers import filing_data

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

FILINGS = 6
TOKEN = "metrics-token-of-the-ops-process-test"


class Gunicorn:
    """The web service as compose runs it: docker/gunicorn.conf.py, two sync workers."""

    def __init__(self, env: dict[str, str], logdir: Path) -> None:
        self.port = free_port()
        self.env = env
        self.logfile = logdir / "gunicorn.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with open(self.logfile, "ab") as log:
            self.proc = subprocess.Popen(  # noqa: S603 - our own argv
                [
                    PYTHON,
                    "-m",
                    "gunicorn",
                    "-c",
                    "docker/gunicorn.conf.py",
                    "portal.wsgi:application",
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--workers",
                    "2",
                ],
                cwd=PROJECT_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if not wait_until(lambda: http_ok(self.url + "/healthz"), timeout=30):
            self.stop()
            raise RuntimeError(f"gunicorn did not answer:\n{self.log()}")

    def log(self) -> str:
        return self.logfile.read_text(errors="replace") if self.logfile.exists() else ""

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def scrape(url: str) -> dict[tuple[str, tuple], float]:
    request = urllib.request.Request(  # noqa: S310 - our own server
        url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        text = response.read().decode()
    samples: dict[tuple[str, tuple], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def total(samples: dict, name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(v for (n, lbls), v in samples.items() if n == name and wanted <= set(lbls))


@pytest.fixture
def processes(
    private_redis: PrivateRedis,
    celery_process: Callable[..., CeleryProcess],
    tmp_path: Path,
) -> Iterator[tuple[Gunicorn, CeleryProcess]]:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        missing("a PostgreSQL test database (DATABASE_URL)")
    shared = {
        # One folder for every process on this host: a scrape adds them all up.
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "LOG_FORMAT": "json",
        "METRICS_TOKEN": TOKEN,
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    web = Gunicorn(
        django_env(
            DJANGO_SETTINGS_MODULE="portal.settings_test",
            DATABASE_URL=database_url_for_tests(),
            CELERY_BROKER_URL=private_redis.url,
            DB_CONN_MAX_AGE="0",
            DEBUG="false",
            **shared,
        ),
        tmp_path,
    )
    worker = celery_process("worker", broker_url=private_redis.url, env=shared)
    web.start()
    try:
        yield web, worker
    finally:
        web.stop()


def test_two_gunicorn_workers_and_a_celery_worker_count_and_log_each_filing(
    world,  # noqa: ANN001
    processes: tuple[Gunicorn, CeleryProcess],
) -> None:
    web, worker = processes
    devices = [
        DeviceFactory(
            merchant=world.merchant_a, provider=world.provider_x, acquirer=world.provider_x
        )
        for _ in range(FILINGS)
    ]
    before = scrape(web.url)
    shop = WebClient(web.url)
    assert shop.log_in("alice", PASSWORD).status == 302
    shop.get("/tickets/new/")

    def file(device_index: int) -> Response:
        client = WebClient(web.url)
        for cookie in shop.cookies:
            client.cookies.set_cookie(cookie)
        data = {k: str(v) for k, v in filing_data(devices[device_index]).items()}
        return client.post("/tickets/new/", data)

    with ThreadPoolExecutor(max_workers=FILINGS) as pool:
        answers = list(pool.map(file, range(FILINGS)))
    assert [answer.status for answer in answers] == [302] * FILINGS, web.log()[-3000:]

    filed = Ticket.objects.filter(merchant=world.merchant_a)
    assert wait_until(
        lambda: filed.filter(routed_at__isnull=False).count() == FILINGS, timeout=45
    ), worker.log()[-4000:]
    assert wait_until(
        lambda: (
            OutboundEmail.objects.filter(status=OutboundEmail.Status.SENT).exists()
            and not OutboundEmail.objects.exclude(status=OutboundEmail.Status.SENT).exists()
        ),
        timeout=45,
    ), worker.log()[-4000:]

    # Metrics: every process's samples in one scrape ------------------------------------
    after = scrape(web.url)

    def moved(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert moved("posdesk_tickets_filed_total") == FILINGS
    assert moved("posdesk_tickets_routed_total") == FILINGS  # counted in the worker
    assert moved("posdesk_routing_latency_seconds_count") == FILINGS
    assert moved("posdesk_routing_task_failures_total") == 0
    assert (
        moved("posdesk_request_duration_seconds_count", view="tickets:new", method="POST")
        == FILINGS
    )
    assert total(after, "posdesk_celery_queue_length", queue="celery") == 0
    assert total(after, "posdesk_email_outbox", status="pending") == 0
    assert ("posdesk_email_outbox", (("status", "failed"),)) in after

    # Log lines: JSON, and one request id from the web to the worker ---------------------
    web_log = web.log()
    web_lines = [json.loads(line) for line in web_log.splitlines() if line.strip()]
    filings = [
        line
        for line in web_lines
        if line["logger"] == "posdesk.request"
        and line["path"] == "/tickets/new/"
        and line["method"] == "POST"
    ]
    assert len(filings) == FILINGS
    # Both gunicorn workers filed some: the counts above really were added up.
    assert len({line["pid"] for line in filings}) == 2, web_log[-3000:]

    answer = answers[0]
    request_id = answer.headers["X-Request-ID"]
    reference = answer.location.strip("/").split("/")[-1]
    ticket = filed.get(reference=reference)
    (request_line,) = [line for line in filings if line["request_id"] == request_id]
    assert request_line["user_id"] == world.alice.pk
    assert request_line["view"] == "tickets:new"
    assert request_line["ticket"] == reference
    assert request_line["status"] == 302

    worker_lines = json_lines(worker.log())
    assert worker_lines, worker.log()[-3000:]
    same_request = [line for line in worker_lines if line["request_id"] == request_id]
    tasks = {line["task"] for line in same_request}
    assert "tickets.tasks.route_ticket" in tasks, worker.log()[-4000:]
    # The e-mails routing queued: every e-mail task the worker ran carries the id of the
    # filing behind it, never its own task id; this filing's among them. (Where routing
    # sends its e-mails itself, inside route_ticket, they share its id anyway.)
    email_tasks = [line for line in worker_lines if line["task"] == "mail.tasks.send_emails"]
    filing_ids = {answer.headers["X-Request-ID"] for answer in answers}
    assert {line["request_id"] for line in email_tasks} <= filing_ids, worker.log()[-4000:]
    if email_tasks:
        assert "mail.tasks.send_emails" in tasks, worker.log()[-4000:]
    routed = [
        line
        for line in same_request
        if line["message"].endswith(f"routed to queue {ticket.queue_id}")
    ]
    assert routed
    assert routed[0]["ticket"] == reference
    # No other filing's id on this ticket's routing.
    assert {
        line["request_id"]
        for line in worker_lines
        if line.get("ticket") == reference and line["task"] == "tickets.tasks.route_ticket"
    } == {request_id}
