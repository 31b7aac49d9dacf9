"""/healthz and /readyz: public, JSON, 503 when a dependency fails or hangs, no secrets."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from ops import health
from tests.waiting import free_port

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_touching_anything(
    client: Client, django_assert_num_queries
) -> None:
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]


def test_readyz_answers_ok_for_everyone_with_each_check(client: Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["status"] == "ok"
    assert set(answer["checks"]) == {"database", "broker", "storage"}
    assert all(check["ok"] for check in answer["checks"].values())
    # The test settings run tasks eagerly: no broker to ask.
    assert answer["checks"]["broker"]["detail"] == "eager"


def test_readyz_refuses_a_post_and_answers_a_head(client: Client) -> None:
    assert client.head("/readyz").status_code == 200
    assert client.post("/readyz").status_code == 405


def test_readyz_answers_503_when_the_broker_is_unreachable(client: Client, settings) -> None:
    secret_url = f"redis://:hunter2-secret@127.0.0.1:{free_port()}/0"
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = secret_url
    response = client.get("/readyz")
    assert response.status_code == 503
    answer = response.json()
    assert answer["status"] == "fail"
    assert answer["checks"]["broker"]["ok"] is False
    assert answer["checks"]["broker"]["detail"] == "ConnectionError"
    assert answer["checks"]["database"]["ok"] is True
    # Neither the URL nor its password nor the port is in a public answer.
    assert b"hunter2" not in response.content
    assert b"127.0.0.1" not in response.content


def test_readyz_answers_503_when_the_media_folder_is_not_writable(
    client: Client, settings, tmp_path
) -> None:
    media = tmp_path / "media"
    media.write_text("a file where the folder should be")
    settings.MEDIA_ROOT = media / "inside"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["storage"] == {
        "ok": False,
        "ms": response.json()["checks"]["storage"]["ms"],
        "detail": "StorageUnavailable",
    }


def test_a_missing_media_folder_that_can_be_made_is_ready(
    client: Client, settings, tmp_path
) -> None:
    settings.MEDIA_ROOT = tmp_path / "not" / "yet"
    assert client.get("/readyz").json()["checks"]["storage"]["ok"] is True


def test_a_hanging_check_fails_within_the_timeout_and_is_not_started_twice(
    client: Client, settings, monkeypatch
) -> None:
    settings.READINESS_TIMEOUT_SECONDS = 1
    calls: list[float] = []

    def hang() -> str:
        calls.append(time.monotonic())
        time.sleep(3)
        return ""

    monkeypatch.setitem(health.CHECKS, "storage", hang)
    started = time.monotonic()
    response = client.get("/readyz")
    assert time.monotonic() - started < 1.8
    assert response.status_code == 503
    assert response.json()["checks"]["storage"]["detail"] == "timeout"
    # Asked again while the first still hangs: no second thread, a failure at once.
    response = client.get("/readyz")
    assert response.json()["checks"]["storage"]["detail"] == "busy"
    assert len(calls) == 1
