"""Rate limits counted in the shared cache: Redis in production (CACHE_URL), so every
gunicorn worker and every web server counts into the same keys.

A limit is `count` uses per `seconds` for one key (a merchant's filings, a user's
replies). The window slides: the current fixed window's count plus the previous one's,
weighted by how much of it still lies within the last `seconds`. A plain fixed window
would let 20 filings at 9:59 and 20 more at 10:00 through. The use is counted with an
atomic increment before it is checked, so two processes racing for the last slot cannot
both have it; a refused use is given back.

When the cache cannot be reached, every use is allowed: a limit guards against floods,
and a Redis outage must never stop a shop from reporting a dead terminal. The outage is
logged once when it starts and once when it ends, not once per request.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from django.core.cache import cache

logger = logging.getLogger(__name__)

Rate = tuple[int, int]  # (count, seconds), from portal.env.env_rate; None is no limit


@dataclass(frozen=True)
class Refusal:
    """A use over the limit, and how long until one would be allowed."""

    retry_after: int  # seconds

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.retry_after / 60))


_cache_down = False


def _reachable(up: bool) -> None:
    global _cache_down  # noqa: PLW0603 - one flag per process, only for the log
    if up and _cache_down:
        logger.info("The cache answers again: rate limits apply again")
    elif not up and not _cache_down:
        logger.warning("The cache cannot be reached: rate limits are not applied until it is back")
    _cache_down = not up


def _key(scope: str, key: object, window: int) -> str:
    return f"limit:{scope}:{key}:{window}"


def use(
    scope: str, key: object, rate: Rate | None, *, amount: int = 1, now: float | None = None
) -> Refusal | None:
    """Count `amount` uses of `scope` by `key`. None: allowed (and counted); else a
    Refusal, and nothing was counted."""
    if rate is None or amount <= 0:
        return None
    count, seconds = rate
    now = time.time() if now is None else now
    window = int(now // seconds)
    current = _key(scope, key, window)
    try:
        # Kept until the end of the next window, where it is the previous one.
        cache.add(current, 0, timeout=math.ceil((window + 2) * seconds - now) + 1)
        try:
            used = cache.incr(current, amount)
        except ValueError:  # expired between add and incr: a fresh window
            cache.set(current, amount, timeout=2 * seconds + 1)
            used = amount
        before = cache.get(_key(scope, key, window - 1), 0)
    except Exception:  # noqa: BLE001 - any cache failure: allow, see the module's docstring
        _reachable(False)
        return None
    _reachable(True)
    elapsed = now - window * seconds
    if before * (1 - elapsed / seconds) + used <= count:
        return None
    give_back(scope, key, rate, amount=amount, now=now)
    return Refusal(_retry_after(count, seconds, elapsed, before, used, amount))


def give_back(
    scope: str, key: object, rate: Rate | None, *, amount: int = 1, now: float | None = None
) -> None:
    """Un-count uses that did nothing after all (a report sent twice, a refusal)."""
    if rate is None or amount <= 0:
        return
    now = time.time() if now is None else now
    try:
        cache.decr(_key(scope, key, int(now // rate[1])), amount)
    except Exception:  # noqa: BLE001 - expired or unreachable: nothing left to give back
        return


def _retry_after(
    count: int, seconds: int, elapsed: float, before: int, used: int, amount: int
) -> int:
    others = used - amount  # this window's uses without the refused one
    if before and others + amount <= count:
        # This window has room; the previous window's share must fade first.
        wait = seconds * (1 - (count - others - amount) / before) - elapsed
    else:
        # This window is full: into the next one, until this one's share has faded.
        fade = 1 - (count - amount) / others if others > 0 and count >= amount else 1
        wait = (seconds - elapsed) + seconds * max(0.0, fade)
    return min(max(1, math.ceil(wait)), 2 * seconds)
