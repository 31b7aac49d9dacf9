"""`|date_minute`, `|date_day` and `|date_iso` print what `|date` prints with their format."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.template import Context, Template
from django.utils import timezone

AWARE = datetime(2026, 1, 31, 17, 5, 9, 123456, tzinfo=UTC)  # 2026-02-01 01:05 in Shanghai
NAIVE = datetime(999, 3, 4, 5, 6, 7)


def render(source: str, value: object) -> str:
    return Template("{% load datefmt %}" + source).render(Context({"value": value}))


def outcome(source: str, value: object) -> str | type[Exception]:
    try:
        return render(source, value)
    except Exception as error:  # noqa: BLE001 - what |date raises, the same must be raised
        return type(error)


@pytest.mark.parametrize("value", [AWARE, NAIVE, date(2026, 2, 3), None, "", "not a date"])
@pytest.mark.parametrize(
    ("fast", "slow"),
    [("date_minute", '"Y-m-d H:i"'), ("date_day", '"Y-m-d"'), ("date_iso", '"c"')],
)
def test_it_prints_what_the_date_filter_prints(value: object, fast: str, slow: str) -> None:
    assert outcome(f"{{{{ value|{fast} }}}}", value) == outcome(
        f"{{{{ value|date:{slow} }}}}", value
    )


def test_it_uses_the_current_time_zone() -> None:
    assert render("{{ value|date_minute }}", AWARE) == "2026-02-01 01:05"
    with timezone.override("Europe/London"):
        assert render("{{ value|date_minute }}", AWARE) == "2026-01-31 17:05"
        assert render("{{ value|date_iso }}", AWARE) == "2026-01-31T17:05:09.123456+00:00"
    assert render("{{ value|date_day }}", AWARE) == "2026-02-01"


def test_it_leaves_the_time_zone_alone_when_told() -> None:
    source = "{% load tz %}{% localtime off %}{{ value|date_minute }}{% endlocaltime %}"
    assert render(source, AWARE) == render(
        '{% load tz %}{% localtime off %}{{ value|date:"Y-m-d H:i" }}{% endlocaltime %}', AWARE
    )


def test_a_default_still_applies_to_nothing() -> None:
    assert render('{{ value|date_minute|default:"—" }}', None) == "—"
