"""portal.limits: a sliding window over the shared cache, and the settings it reads."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal import limits
from portal.env import caches_from_env, env_rate

RATE = (3, 600)  # three uses per ten minutes
T0 = 600 * 1000.0  # the start of a window


def uses(n: int, at: float, key: object = 1) -> list[limits.Refusal | None]:
    return [limits.use("test", key, RATE, now=at) for _ in range(n)]


def test_it_allows_the_count_and_refuses_the_next() -> None:
    answers = uses(4, T0 + 10)
    assert answers[:3] == [None, None, None]
    assert isinstance(answers[3], limits.Refusal)
    assert 0 < answers[3].retry_after <= 2 * 600


def test_it_counts_per_key() -> None:
    uses(3, T0 + 10, key="a")
    assert limits.use("test", "b", RATE, now=T0 + 10) is None
    assert limits.use("other", "a", RATE, now=T0 + 10) is None


def test_a_burst_across_the_window_boundary_is_not_let_through_twice() -> None:
    assert uses(3, T0 + 590) == [None, None, None]
    # Ten seconds later, in the next fixed window: the last ten minutes hold three.
    assert isinstance(limits.use("test", 1, RATE, now=T0 + 600), limits.Refusal)
    # As the old window slides out, room comes back.
    assert limits.use("test", 1, RATE, now=T0 + 600 + 250) is None


def test_the_retry_time_is_when_a_use_fits_again() -> None:
    uses(3, T0 + 590)
    refusal = limits.use("test", 1, RATE, now=T0 + 600)
    # The previous window's three must fade to two: a third of the window (rounded up).
    assert refusal.retry_after in {200, 201}
    assert limits.use("test", 1, RATE, now=T0 + 600 + refusal.retry_after) is None


def test_a_refused_use_is_not_counted_and_a_given_back_one_frees_its_slot() -> None:
    uses(3, T0 + 10)
    for _ in range(5):
        assert limits.use("test", 1, RATE, now=T0 + 20) is not None
    limits.give_back("test", 1, RATE, now=T0 + 30)
    assert limits.use("test", 1, RATE, now=T0 + 40) is None


def test_a_use_of_several_counts_them_all() -> None:
    assert limits.use("test", 1, RATE, amount=2, now=T0 + 10) is None
    assert limits.use("test", 1, RATE, amount=2, now=T0 + 10) is not None
    assert limits.use("test", 1, RATE, amount=1, now=T0 + 10) is None


def test_no_rate_is_no_limit() -> None:
    assert all(limits.use("test", 1, None) is None for _ in range(100))


def test_an_unreachable_cache_lets_everything_through(monkeypatch, caplog) -> None:  # noqa: ANN001
    class Down:
        def __getattr__(self, name: str) -> object:
            def fail(*args: object, **kwargs: object) -> None:
                raise ConnectionError("redis is down")

            return fail

    monkeypatch.setattr(limits, "cache", Down())
    monkeypatch.setattr(limits, "_cache_down", False)
    assert uses(10, T0 + 10) == [None] * 10
    # Logged once when it went down, not per request.
    assert [r.levelname for r in caplog.records if r.name == "portal.limits"] == ["WARNING"]


# --- the settings ---


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("20/10m", (20, 600)),
        ("20/600", (20, 600)),
        ("5/1h", (5, 3600)),
        ("3/30s", (3, 30)),
        ("1/1d", (1, 86400)),
        ("off", None),
        ("0", None),
    ],
)
def test_a_rate_is_a_count_per_period(monkeypatch, raw: str, expected: object) -> None:  # noqa: ANN001
    monkeypatch.setenv("X", raw)
    assert env_rate("X", "1/1") == expected


@pytest.mark.parametrize("raw", ["twenty", "20", "20/", "20/0", "-1/5m", "20/10y", "0/10m"])
def test_a_bad_rate_stops_start_up(monkeypatch, raw: str) -> None:  # noqa: ANN001
    monkeypatch.setenv("X", raw)
    with pytest.raises(ImproperlyConfigured, match="X must be a count per period"):
        env_rate("X", "1/1")


def test_the_cache_is_redis_from_cache_url_else_local_memory(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.delenv("CACHE_URL", raising=False)
    assert caches_from_env()["default"]["BACKEND"].endswith("LocMemCache")
    monkeypatch.setenv("CACHE_URL", "redis://127.0.0.1:6379/3")
    default = caches_from_env()["default"]
    assert default["BACKEND"] == "portal.cache.RedisCache"
    assert default["LOCATION"] == "redis://127.0.0.1:6379/3"
    monkeypatch.setenv("CACHE_URL", "memcached://127.0.0.1")
    with pytest.raises(ImproperlyConfigured, match="CACHE_URL"):
        caches_from_env()
