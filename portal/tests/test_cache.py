"""portal.cache: Django's Redis cache with one redis.Redis per pool, on the real Redis."""

from __future__ import annotations

import os
import threading

import pytest
import redis

from portal.cache import RedisCache

URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def cache() -> RedisCache:
    try:
        redis.Redis.from_url(URL, socket_connect_timeout=2).ping()
    except (redis.RedisError, OSError):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Redis at {URL} is required under CI=true")
        pytest.skip(f"Redis at {URL} is not reachable")
    cache = RedisCache(URL, {"KEY_PREFIX": f"cache-test-{os.getpid()}"})
    yield cache
    cache.clear()


def test_one_client_is_built_and_reused(cache: RedisCache) -> None:
    """Django's own builds a redis.Redis on every call (issue 18: two or three per page)."""
    first = cache._cache.get_client(write=True)
    assert cache._cache.get_client() is first
    assert cache._cache.get_client("some key", write=True) is first


def test_it_still_caches(cache: RedisCache) -> None:
    cache.set("user:1", {"name": "Alice"}, 30)
    assert cache.get("user:1") == {"name": "Alice"}
    assert cache.add("user:1", "other", 30) is False
    cache.set("hits", 0, 30)
    assert cache.incr("hits") == 1
    cache.delete("user:1")
    assert cache.get("user:1", "gone") == "gone"


def test_threads_share_the_client(cache: RedisCache) -> None:
    """A gthread worker's threads share it: each command borrows a pooled connection."""
    errors: list[Exception] = []

    def work(n: int) -> None:
        try:
            for i in range(50):
                cache.set(f"k{n}:{i}", i, 30)
                assert cache.get(f"k{n}:{i}") == i
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
