"""The API's tests use the security suite's world (tests/security/conftest.py): merchant
A and B, technicians of provider X and Y (both managers there), tickets, quotes and
incidents on each side. A caller is a key's owner, or a session."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from api.models import ApiKey
from tests.security.conftest import media_root, scenario  # noqa: F401 - fixtures


def key_client(user, scope: str = ApiKey.Scope.WRITE) -> APIClient:  # noqa: ANN001
    _key, token = ApiKey.issue(user=user, name="test", scope=scope)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def api_as():  # noqa: ANN201
    """`api_as(world.alice)` gives a client holding a write key of alice's."""
    return key_client


@pytest.fixture(autouse=True)
def _no_throttle_leftovers(settings) -> None:  # noqa: ANN001
    # Each test counts from zero: the cache is shared with the web's limits.
    from django.core.cache import cache

    cache.clear()
