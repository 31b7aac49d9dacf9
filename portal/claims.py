"""Claiming outbox rows (e-mails, webhook deliveries) for one worker alone.

An outbox model has `status` (with `PENDING` and `SENDING`), `claim` (a UUID),
`attempts`, `next_attempt_at` (a `sending` row's lease) and a queryset method
`due(now)`: waiting rows whose time has come, and `sending` rows whose worker's lease
ran out. mail.services and webhooks.services claim and release their rows here, so
the two outboxes cannot come to differ in how two workers are kept from sending one
row.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import models, transaction
from django.db.models import F


def claim(
    model: type[models.Model],
    now: datetime,
    *,
    ids: Sequence[int] | None,
    limit: int,
    lease: timedelta,
    also: dict[str, Any] | None = None,
) -> models.QuerySet:
    """Take up to `limit` due rows of `model` (of `ids`, when given) for this worker
    alone; the rows taken, as a queryset for the caller to order (and join).

    The UPDATE repeats the `due` condition, so of two workers picking the same rows
    only the first to commit gets them (the second's UPDATE matches none), on any
    database. SKIP LOCKED spares PostgreSQL the wait: rows another worker is claiming
    right now are left to it. Each claim counts as an attempt, so one taken back from
    a dead worker shows `attempts` > 1. `also`: more columns the same UPDATE sets."""
    sending = model.Status.SENDING
    token = uuid.uuid4()
    due = model.objects.due(now)
    if ids is not None:
        due = due.filter(pk__in=ids)
    with transaction.atomic():
        picked = list(
            due.select_for_update(skip_locked=True)
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        if not picked:
            return model.objects.none()  # no query when read
        model.objects.due(now).filter(pk__in=picked).update(
            status=sending,
            claim=token,
            attempts=F("attempts") + 1,
            next_attempt_at=now + lease,
            **(also or {}),
        )
    return model.objects.filter(claim=token, status=sending)


def release(model: type[models.Model], rows: Sequence[models.Model], now: datetime) -> None:
    """Rows claimed but never tried: back to `pending` at once, the attempt not counted.
    Each only while this worker's claim still holds it."""
    for row in rows:
        model.objects.filter(pk=row.pk, claim=row.claim, status=model.Status.SENDING).update(
            status=model.Status.PENDING,
            claim=None,
            attempts=F("attempts") - 1,
            next_attempt_at=now,
        )
