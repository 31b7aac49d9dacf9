"""Log lines: JSON with the request's context, the request id in and out, and into the
headers of the Celery tasks a request queues (tests/faults/test_ops_processes.py follows
one id through gunicorn and a real worker)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from types import SimpleNamespace

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from conftest import World, client_for
from ops import context, signals
from ops.logs import ContextFilter, JsonFormatter, logging_config

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_lines() -> Callable[[], list[dict]]:
    """`json_lines()`: every line logged so far in the test, as the JSON handler wrote it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)


def test_a_request_gets_an_id_in_its_response_and_its_log_line(client: Client) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    logging.getLogger("posdesk.request").addHandler(handler)
    try:
        response = client.get("/accounts/login/")
    finally:
        logging.getLogger("posdesk.request").removeHandler(handler)
    request_id = response["X-Request-ID"]
    assert len(request_id) == 32
    (line,) = [json.loads(raw) for raw in stream.getvalue().splitlines()]
    assert line["request_id"] == request_id
    assert line["view"] == "login"
    assert line["status"] == 200
    assert line["method"] == "GET"
    assert line["level"] == "INFO"
    assert line["logger"] == "posdesk.request"
    assert line["time"].endswith("+00:00")
    # Each request its own.
    assert client.get("/accounts/login/")["X-Request-ID"] != request_id


def test_a_clients_own_request_id_is_ignored_without_a_trusted_proxy(
    client: Client, settings
) -> None:
    settings.TRUSTED_PROXY_COUNT = 0
    response = client.get("/accounts/login/", HTTP_X_REQUEST_ID="forged-by-client")
    assert response["X-Request-ID"] != "forged-by-client"


def test_the_proxys_request_id_is_kept_behind_a_trusted_proxy(client: Client, settings) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    response = client.get("/accounts/login/", HTTP_X_REQUEST_ID="lb-1234-abcd")
    assert response["X-Request-ID"] == "lb-1234-abcd"


def test_a_request_id_that_could_forge_log_lines_is_replaced(client: Client, settings) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    response = client.get("/accounts/login/", HTTP_X_REQUEST_ID='x" level=ERROR')
    assert response["X-Request-ID"] != 'x" level=ERROR'
    assert len(response["X-Request-ID"]) == 32


def test_a_log_line_carries_the_user_ticket_and_view(
    world: World, json_lines: Callable[[], list[dict]], django_capture_on_commit_callbacks
) -> None:
    from tickets.tests.filing_helpers import filing_data

    client = client_for(world.alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/tickets/new/", filing_data(world.device_a))
    reference = response["Location"].strip("/").split("/")[-1]
    detail = client.get(f"/tickets/{reference}/")
    assert detail.status_code == 200
    lines = json_lines()
    request_lines = [line for line in lines if line["logger"] == "posdesk.request"]
    filing, page = request_lines
    assert filing["user_id"] == world.alice.pk
    assert filing["ticket"] == reference
    assert filing["view"] == "tickets:new"
    assert page["ticket"] == reference
    assert page["view"] == "tickets:detail"
    assert page["request_id"] == detail["X-Request-ID"]
    # Every field of the format on every line, null when unknown.
    for line in lines:
        assert {"time", "level", "logger", "message", "request_id", "user_id", "ticket"} <= set(
            line
        )


def test_an_anonymous_request_logs_no_user_and_loads_none(
    client: Client, json_lines: Callable[[], list[dict]], django_assert_num_queries
) -> None:
    with django_assert_num_queries(0):
        client.get("/accounts/login/")
    assert json_lines()[-1]["user_id"] is None


def test_a_published_task_carries_the_request_id_and_ticket() -> None:
    tokens = (context.request_id.set("req-1"), context.ticket_reference.set("PD-000042"))
    try:
        headers: dict = {}
        signals._context_into_headers(headers=headers)
    finally:
        context.ticket_reference.reset(tokens[1])
        context.request_id.reset(tokens[0])
    assert headers == {"posdesk_request_id": "req-1", "posdesk_ticket": "PD-000042"}


def test_a_task_run_by_a_worker_takes_them_back_and_lets_go_after() -> None:
    task = SimpleNamespace(
        name="tickets.tasks.route_ticket",
        request=SimpleNamespace(
            is_eager=False, posdesk_request_id="req-1", posdesk_ticket="PD-000042"
        ),
    )
    signals._context_from_headers(task_id="task-1", task=task)
    assert context.request_id.get() == "req-1"
    assert context.ticket_reference.get() == "PD-000042"
    assert context.current_task.get() == ("tickets.tasks.route_ticket", "task-1")
    signals._task_done(task_id="task-1", task=task, state="SUCCESS")
    assert context.request_id.get() is None
    assert context.current_task.get() is None


def test_an_eager_retry_inside_its_task_leaves_no_task_behind() -> None:
    # An eager task's retry runs inside it, under the same task id.
    task = SimpleNamespace(
        name="tickets.tasks.route_ticket", request=SimpleNamespace(is_eager=True)
    )
    signals._context_from_headers(task_id="task-3", task=task)
    signals._context_from_headers(task_id="task-3", task=task)
    signals._task_done(task_id="task-3", task=task, state="RETRY")
    assert context.current_task.get() == ("tickets.tasks.route_ticket", "task-3")
    signals._task_done(task_id="task-3", task=task, state="SUCCESS")
    assert context.current_task.get() is None
    assert "task-3" not in signals._running


def test_a_task_nobody_asked_for_uses_its_own_id() -> None:
    task = SimpleNamespace(name="tickets.tasks.sweep_unrouted", request=SimpleNamespace())
    signals._context_from_headers(task_id="task-2", task=task)
    assert context.request_id.get() == "task-2"
    signals._task_done(task_id="task-2", task=task, state="SUCCESS")


def test_the_log_format_is_json_or_text() -> None:
    assert (
        logging_config(log_format="json", level="INFO")["handlers"]["console"]["formatter"]
        == "json"
    )
    with pytest.raises(ImproperlyConfigured):
        logging_config(log_format="xml", level="INFO")


def test_probes_and_static_files_log_at_debug_only(
    client: Client, json_lines: Callable[[], list[dict]]
) -> None:
    logging.getLogger("posdesk.request").setLevel(logging.INFO)
    try:
        client.get("/healthz")
        client.get("/readyz")
        client.get("/static/css/posdesk.css")
        client.get("/accounts/login/")
    finally:
        logging.getLogger("posdesk.request").setLevel(logging.NOTSET)
    paths = [line["path"] for line in json_lines() if line["logger"] == "posdesk.request"]
    assert paths == ["/accounts/login/"]


PRINT_LOG_FORMAT = (
    "import django; django.setup(); import logging; from django.conf import settings; "
    "print(settings.LOG_FORMAT, type(logging.getLogger().handlers[0].formatter).__name__)"
)


@pytest.mark.parametrize(
    ("module", "env", "expected"),
    [
        # `make run` and the tests: for a person.
        ("portal.settings", {}, "text TextFormatter"),
        # Production: for a log shipper, unless asked otherwise.
        ("portal.settings_production", {}, "json JsonFormatter"),
        ("portal.settings_production", {"LOG_FORMAT": "text"}, "text TextFormatter"),
        ("portal.settings", {"LOG_FORMAT": "json"}, "json JsonFormatter"),
    ],
)
def test_the_default_log_format_of_each_settings_module(
    module: str, env: dict[str, str], expected: str
) -> None:
    from portal.tests.test_settings import production_env, run_python

    result = run_python(["-c", PRINT_LOG_FORMAT], module, **production_env(**env))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected


def test_a_log_format_nobody_knows_stops_start_up() -> None:
    from portal.tests.test_settings import run_python

    result = run_python(["-c", PRINT_LOG_FORMAT], "portal.settings", LOG_FORMAT="xml")
    assert result.returncode != 0
    assert "LOG_FORMAT must be json or text" in result.stderr


def test_a_password_reset_links_token_is_never_logged(
    client: Client, json_lines: Callable[[], list[dict]]
) -> None:
    client.get("/accounts/password/reset/MQ/set-password-abc123/")
    (line,) = [line for line in json_lines() if line["logger"] == "posdesk.request"]
    assert "abc123" not in json.dumps(line)
    assert line["path"] == "/accounts/password/reset/<uidb64>/<token>/"
