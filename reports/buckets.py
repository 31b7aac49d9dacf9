"""Histograms of durations in minutes, so medians and p90s add up across days.

A median cannot be summed; counts per bucket can. Buckets are exact to the minute up
to 2 hours, then 5 minutes up to 10 hours, 15 minutes up to 2 days, an hour up to two
weeks, and a day beyond: a p90 of "3 days 4 hours" is read to the hour, a first
response of 17 minutes to the minute. A bucket is named by its lower edge in minutes
(a string: JSON keys are strings).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

# (up to, width) in minutes.
STEPS = ((120, 1), (600, 5), (2880, 15), (20160, 60))
DAY = 1440


def bucket(minutes: float) -> int:
    m = max(0, int(minutes))
    for upto, width in STEPS:
        if m < upto:
            return m - m % width
    return m - m % DAY


def width(edge: int) -> int:
    for upto, w in STEPS:
        if edge < upto:
            return w
    return DAY


def merge(into: dict[str, int], other: Mapping[str, int]) -> dict[str, int]:
    for key, count in other.items():
        into[key] = into.get(key, 0) + int(count)
    return into


def add(into: dict[str, int], minutes: float) -> None:
    key = str(bucket(minutes))
    into[key] = into.get(key, 0) + 1


def percentile(hist: Mapping[str, int], q: float) -> float | None:
    """The nearest-rank `q` quantile (0 < q <= 1): the bucket holding the value ranked
    ceil(q * n), read as its middle (exact for one-minute buckets). None when empty."""
    total = sum(hist.values())
    if total <= 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for edge in sorted(int(k) for k in hist):
        seen += hist[str(edge)]
        if seen >= rank:
            w = width(edge)
            return float(edge) if w == 1 else edge + w / 2
    return None  # pragma: no cover - the loop always reaches the total


def nearest_rank(values: Iterable[float], q: float) -> float | None:
    """The same quantile of raw minutes, bucketed the same way: what a direct
    aggregation of tickets gives (the tests compare it with the rollups')."""
    hist: dict[str, int] = {}
    for v in values:
        add(hist, v)
    return percentile(hist, q)
