"""Tickets arriving together never open two incidents for one cause.

Real threads on PostgreSQL, each with its own connection, released together by a
barrier; the first detector is held inside its transaction after counting, so the
others really check while it is still deciding: only the advisory lock keeps them
apart (the unique constraint would turn the losers' INSERTs into errors instead).
"""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.utils import timezone

from outages import detection
from outages.models import Incident, IncidentTicket
from outages.tests.helpers import host_down_ticket
from tests.factories import ProviderFactory
from tickets.tests.test_claim_race import race

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs PostgreSQL locks and real threads"
    ),
    pytest.mark.django_db(transaction=True),
]


def test_concurrent_detections_open_a_single_incident(monkeypatch: pytest.MonkeyPatch) -> None:
    provider = ProviderFactory()
    now = timezone.now()
    tickets = [host_down_ticket(provider, at=now) for _ in range(6)]
    opened = detection._open_if_threshold

    def slow_open(*args: object, **kwargs: object) -> Incident | None:
        time.sleep(0.2)  # counted, not yet inserted: the moment a second one would slip in
        return opened(*args, **kwargs)

    monkeypatch.setattr(detection, "_open_if_threshold", slow_open)

    results = race(*[(lambda t=t: detection.check(t.pk, now=now)) for t in tickets])

    assert not [r for r in results if isinstance(r, Exception)], results
    assert Incident.objects.count() == 1
    incident = Incident.objects.get()
    assert set(IncidentTicket.objects.values_list("ticket_id", flat=True)) == {
        t.pk for t in tickets
    }
    assert {r for r in results if r is not None} == {incident}
