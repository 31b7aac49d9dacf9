"""W7's pieces on a small scale: the seed's texts (bench/w7.py) are the same for the same
ticket, mostly Chinese, and hold every word W7 searches; the page W7 asks for answers
with the count it checks. Run with `.venv/bin/python -m pytest bench/tests`."""

from __future__ import annotations

import re

from django.test import Client

from bench import w7
from conftest import World
from tests.factories import queued_ticket


def test_the_texts_are_deterministic_and_mostly_chinese() -> None:
    texts = [w7.description(i) for i in range(1, 2001)]
    assert texts == [w7.description(i) for i in range(1, 2001)]
    chinese = sum(1 for text in texts if re.search("[\u4e00-\u9fff]", text))
    assert 0.6 < chinese / len(texts) < 0.8
    assert len(set(texts)) > 1000  # not ten sentences repeated
    assert w7.reply(7, 1) == w7.reply(7, 1)


def test_every_w7_query_is_in_the_seeded_texts() -> None:
    texts = " ".join(
        [w7.description(i) for i in range(1, 5001)]
        + [w7.reply(i, k) for i in range(1, 3001) for k in range(3)]
    )
    for query in w7.QUERIES:
        assert query in texts, query


def test_the_page_w7_asks_for_has_its_count(world: World) -> None:  # noqa: ANN001
    queued_ticket(world.device_a, description=w7.description(1) + " 卡纸")
    client = Client()
    client.force_login(world.xavier)
    response = client.get(w7.path_for("卡纸"))
    assert response.status_code == 200
    assert b'id="search-total"' in response.content
