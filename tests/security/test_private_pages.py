"""Issue 11: what every URL answers besides its page.

- A logged-in page or download is never kept by a cache: `Cache-Control: private,
  no-store` (or stricter, when the view sets its own). Static files keep their own cache.
- `HEAD` works wherever `GET` does: the same status, no 405.
- A NUL byte in any query parameter or form field answers with a message or a 4xx,
  never a 500.

Every URL pattern comes from urlmap.project_urls(), so a new page is covered at once.
"""

from __future__ import annotations

import pytest
from django.db import DataError, transaction
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils.cache import get_max_age

from tests.security.conftest import Scenario, crafted_post
from tests.security.test_methods_and_csrf import POST_ONLY
from tests.security.urlmap import own_url, project_urls

URLS = project_urls()
ROLES = ("alice", "xavier", "admin")


def _client(user) -> Client:  # noqa: ANN001
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


def is_private(cache_control: str) -> bool:
    directives = {part.strip().split("=")[0] for part in cache_control.split(",")}
    return {"private", "no-store"} <= directives


@pytest.mark.parametrize("url", URLS, ids=str)
def test_a_logged_in_response_is_never_cached(scenario: Scenario, url) -> None:  # noqa: ANN001
    path = own_url(url, scenario.side_a())
    for role in ROLES:
        response = _client(getattr(scenario.world, role)).get(path)
        assert is_private(response.get("Cache-Control", "")), (
            f"GET {path} as {role} ({response.status_code}) sends "
            f"Cache-Control: {response.get('Cache-Control')!r}"
        )


def test_a_download_is_never_cached(scenario: Scenario) -> None:
    world = scenario.world
    path = reverse(
        "tickets:attachment", args=[scenario.ticket_a.reference, scenario.attachment_a.pk]
    )
    response = _client(world.alice).get(path)
    assert response.status_code == 200
    assert is_private(response["Cache-Control"])


def test_a_page_for_nobody_in_particular_is_left_alone(scenario: Scenario) -> None:
    # The log-in page sets its own (never_cache); a redirect to it has nothing private.
    response = Client().get(reverse("devices:list"))
    assert response.status_code == 302
    assert "no-store" not in response.get("Cache-Control", "")


def test_static_files_keep_their_own_cache(scenario: Scenario) -> None:
    response = _client(scenario.world.alice).get("/static/css/posdesk.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
    assert get_max_age(response)


@pytest.mark.parametrize("url", [u for u in URLS if u.name not in POST_ONLY], ids=str)
def test_head_works_wherever_get_does(scenario: Scenario, url) -> None:  # noqa: ANN001
    path = own_url(url, scenario.side_a())
    for role in (None, *ROLES):
        user = getattr(scenario.world, role) if role else None
        get = _client(user).get(path)
        head = _client(user).head(path)
        assert head.status_code == get.status_code, (
            f"HEAD {path} as {role}: {head.status_code}, GET: {get.status_code}"
        )
        assert not (b"".join(head.streaming_content) if head.streaming else head.content)


# Every parameter name a view reads from a query string or a form, and then some.
PARAMETERS = (
    "q",
    "page",
    "status",
    "category",
    "device",
    "terminal",
    "priority",
    "warranty",
    "assigned",
    "sort",
    "overdue",
    "next",
    "digest",
    "confirm",
    "action",
    "submission_token",
)


@pytest.mark.parametrize("url", URLS, ids=str)
def test_a_nul_in_the_query_string_never_answers_500(scenario: Scenario, url) -> None:  # noqa: ANN001
    path = own_url(url, scenario.side_a())
    query = {name: "1\x00" for name in PARAMETERS}
    for role in (None, *ROLES):
        user = getattr(scenario.world, role) if role else None
        response = _client(user).get(path, query)
        assert response.status_code < 500, f"GET {path}?…%00 as {role}: {response.status_code}"


@pytest.mark.parametrize("url", URLS, ids=str)
def test_a_nul_in_every_form_field_never_answers_500(scenario: Scenario, url) -> None:  # noqa: ANN001
    path = own_url(url, scenario.side_a())
    data = {name: f"{value}\x00" for name, value in crafted_post(scenario).items()}
    data.update({name: "1\x00" for name in PARAMETERS})
    for role in ROLES:
        response = _client(getattr(scenario.world, role)).post(path, data)
        assert response.status_code < 500, f"POST {path} with NULs as {role}: {response}"


def test_a_nul_no_form_caught_is_a_bad_request_not_a_server_error(world) -> None:  # noqa: ANN001
    """The safety net: a view that passes a raw parameter to a query."""
    from devices.models import Device
    from portal.middleware import BadInputMiddleware

    def careless_view(request):  # noqa: ANN001, ANN202
        return Device.objects.filter(serial_number=request.GET["q"]).count()

    request = RequestFactory().get("/", {"q": "SN\x00"})
    middleware = BadInputMiddleware(careless_view)
    try:
        with transaction.atomic():
            careless_view(request)
    except DataError as error:
        response = middleware.process_exception(request, error)
    assert response is not None
    assert response.status_code == 400


def test_any_other_database_error_stays_a_server_error(world) -> None:  # noqa: ANN001
    from portal.middleware import BadInputMiddleware

    request = RequestFactory().get("/", {"q": "SN\x00"})
    middleware = BadInputMiddleware(lambda request: None)
    assert middleware.process_exception(request, DataError("value too long")) is None
    clean = RequestFactory().get("/", {"q": "SN"})
    assert middleware.process_exception(clean, DataError("cannot contain NUL")) is None
