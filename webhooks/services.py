"""Writing webhook deliveries with their events, and sending them.

- `ticket_events_recorded` (tickets.hooks.events_recorded, in the event writer's
  transaction) and `incident_opened` (an incident's `opened` update saved) write one
  `Delivery` per endpoint of the provider that wants the event, in that transaction,
  and ask the `webhooks` queue to send them once it commits. A broker that is down
  leaves the rows for the sweep; a rolled-back event leaves no row.
- `deliver` sends due rows: claims them (portal.claims, as mail.services does: one
  conditional UPDATE, so two workers never send one row), POSTs each signed body
  through the SSRF guard (webhooks.http), logs the attempt and records the outcome.
- `sweep` (beat, every WEBHOOKS_SWEEP_SECONDS): rows whose task never came, whose
  retry time has come, or whose worker died.
- `redeliver`: a manager sends a delivery again now, whatever its status.

A 2xx answer is delivered. Anything else (a 3xx too: redirects are not followed), a
timeout or a refused address is retried after WEBHOOKS_BACKOFF_BASE_SECONDS, doubling,
until the row has failed for WEBHOOKS_GIVE_UP (24 h); then it is `failed`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from portal import broker, claims
from webhooks import http
from webhooks.models import Delivery, DeliveryAttempt, Endpoint, Event

if TYPE_CHECKING:
    from outages.models import Incident
    from tickets.models import TicketEvent

logger = logging.getLogger(__name__)

Status = Delivery.Status
# Rows one claim takes: each may take WEBHOOKS_TIMEOUT_SECONDS to connect and as long to
# answer, and the sweep's budget is half the task's soft time limit.
BATCH_SIZE = 5
USER_AGENT = "PosDesk-Webhooks/1"


def _ticket_kinds() -> dict[str, str]:
    from tickets.models import TicketEvent

    K = TicketEvent.Kind
    return {
        K.ROUTED: Event.TICKET_ROUTED,
        K.MERCHANT_REPLY: Event.MERCHANT_REPLIED,
        K.QUOTE_ACCEPTED: Event.QUOTE_DECIDED,
        K.QUOTE_DECLINED: Event.QUOTE_DECIDED,
        K.RESOLVED: Event.TICKET_RESOLVED,
        K.REOPENED: Event.TICKET_REOPENED,
        K.SLA_BREACHED: Event.SLA_BREACHED,
    }


# Signing ---------------------------------------------------------------------------------


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`v1=` and the hex HMAC-SHA256 of "<timestamp>.<body>" under the endpoint's secret."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def headers_for(delivery: Delivery, secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-PosDesk-Event": delivery.event,
        "X-PosDesk-Delivery": str(delivery.uuid),
        "X-PosDesk-Timestamp": str(timestamp),
        "X-PosDesk-Signature": signature(secret, timestamp, body),
    }


# Writing deliveries ----------------------------------------------------------------------


def _endpoints_wanting(provider_id: int, event: str) -> list[Endpoint]:
    return [
        endpoint
        for endpoint in Endpoint.objects.filter(provider_id=provider_id, active=True)
        if endpoint.wants(event)
    ]


def _body(delivery_id: uuid.UUID, event: str, at: datetime, data: dict) -> str:
    return json.dumps(
        {"id": str(delivery_id), "event": event, "created_at": at, "data": data},
        cls=DjangoJSONEncoder,
        ensure_ascii=False,
    )


def queue(rows: Sequence[Delivery]) -> list[int]:
    """Write `rows` in the caller's transaction and send them once it commits."""
    if not rows:
        return []
    Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    # ignore_conflicts leaves pks unset: find the rows by their uuids.
    ids = list(
        Delivery.objects.filter(uuid__in=[row.uuid for row in rows]).values_list("pk", flat=True)
    )
    if ids:
        transaction.on_commit(partial(enqueue_delivery, ids), robust=True)
    return ids


def enqueue_delivery(ids: list[int]) -> None:
    from webhooks.tasks import deliver_webhooks

    broker.publish(deliver_webhooks, ids)


def _tickets(ids: Iterable[int]) -> dict:
    from tickets.models import Ticket

    return Ticket.objects.select_related("merchant", "queue", "device__model__brand").in_bulk(
        list(ids)
    )


def ticket_payload(event: TicketEvent, ticket=None) -> dict:  # noqa: ANN001 - a Ticket
    """What a provider's system needs of a ticket event: facts, not sentences (its own
    system words them), and only what the provider's technicians may read."""
    if ticket is None:
        ticket = _tickets([event.ticket_id]).get(event.ticket_id)
    data: dict = {
        "ticket_event": {
            "id": event.pk,
            "kind": event.kind,
            "created_at": event.created_at,
            "public": event.public,
            "actor": event.actor.get_username() if event.actor_id else None,
            "body": event.body,
            "data": event.data,
        }
    }
    if ticket is not None:
        device = ticket.device
        data["ticket"] = {
            "reference": ticket.reference,
            "status": ticket.status,
            "priority": ticket.priority,
            "category": ticket.category,
            "billable": ticket.billable,
            "warranty_status": ticket.warranty_status,
            "queue": {"id": ticket.queue_id, "name": ticket.queue.name} if ticket.queue else None,
            "merchant": {"id": ticket.merchant_id, "name": ticket.merchant.name},
            "device": {"serial_number": device.serial_number, "model": str(device.model)},
            "created_at": ticket.created_at,
            "url": _technician_url(ticket),
        }
    return data


def _technician_url(ticket) -> str:  # noqa: ANN001 - a Ticket
    from tickets.notifications import technician_url

    return technician_url(ticket)


def ticket_events_recorded(events: Iterable[TicketEvent]) -> list[int]:
    """Deliveries for the ticket events endpoints subscribe to, in the event's
    transaction. An event goes to the provider whose queue held the ticket when it
    was written (`TicketEvent.provider`, stamped by the event writer)."""
    kinds = _ticket_kinds()
    endpoints_of: dict[tuple[int, str], list[Endpoint]] = {}
    wanted = []
    for event in events:
        name = kinds.get(event.kind)
        if name is None or event.provider_id is None:
            continue
        key = (event.provider_id, name)
        if key not in endpoints_of:
            endpoints_of[key] = _endpoints_wanting(event.provider_id, name)
        if endpoints_of[key]:
            wanted.append((event, name, endpoints_of[key]))
    if not wanted:
        return []
    # One query for the tickets however many events (an incident resolves thousands).
    tickets = _tickets({event.ticket_id for event, _name, _endpoints in wanted})
    rows: list[Delivery] = []
    for event, name, endpoints in wanted:
        payload = ticket_payload(event, tickets.get(event.ticket_id))
        for endpoint in endpoints:
            delivery_id = uuid.uuid4()
            rows.append(
                Delivery(
                    uuid=delivery_id,
                    endpoint=endpoint,
                    event=name,
                    source=f"ticket_event:{event.pk}",
                    body=_body(delivery_id, name, event.created_at, payload),
                )
            )
    return queue(rows)


def incident_payload(incident: Incident) -> dict:
    return {
        "incident": {
            "id": incident.pk,
            "status": incident.status,
            "source": incident.source,
            "category": incident.category,
            "symptoms": list(incident.symptoms),
            "city": incident.city,
            "district": incident.district,
            "summary": incident.summary,
            "summary_zh_hans": incident.summary_zh_hans,
            "starts_at": incident.starts_at,
            "ends_at": incident.ends_at,
        }
    }


def incident_opened(incident: Incident) -> list[int]:
    name = Event.INCIDENT_OPENED
    rows = []
    for endpoint in _endpoints_wanting(incident.provider_id, name):
        delivery_id = uuid.uuid4()
        rows.append(
            Delivery(
                uuid=delivery_id,
                endpoint=endpoint,
                event=name,
                source=f"incident:{incident.pk}",
                body=_body(delivery_id, name, incident.created_at, incident_payload(incident)),
            )
        )
    return queue(rows)


# Sending ---------------------------------------------------------------------------------


def backoff(attempts: int) -> timedelta:
    base = settings.WEBHOOKS_BACKOFF_BASE_SECONDS
    ceiling = settings.WEBHOOKS_BACKOFF_MAX_SECONDS
    return timedelta(seconds=min(ceiling, base * 2 ** max(0, min(attempts - 1, 30))))


def claim(now: datetime, *, ids: Sequence[int] | None = None, limit: int) -> list[Delivery]:
    """Take up to `limit` due rows (of `ids`, when given) for this worker alone
    (portal.claims)."""
    rows = claims.claim(
        Delivery,
        now,
        ids=ids,
        limit=limit,
        lease=timedelta(seconds=settings.WEBHOOKS_LEASE_SECONDS),
    )
    return list(rows.select_related("endpoint").order_by("pk"))


def send_one(delivery: Delivery, *, now: datetime) -> str:
    """POST one claimed delivery, log the attempt, record the outcome; its new status."""
    body = delivery.body.encode()
    timestamp = int(time.time())
    headers = headers_for(delivery, delivery.endpoint.secret, body, timestamp)
    answer = http.post(
        delivery.endpoint.url, body, headers, timeout=settings.WEBHOOKS_TIMEOUT_SECONDS
    )
    DeliveryAttempt.objects.create(
        delivery=delivery,
        at=now,
        status_code=answer.status,
        duration_ms=answer.duration_ms,
        response=answer.body,
        error=answer.error,
    )
    mine = Delivery.objects.filter(pk=delivery.pk, claim=delivery.claim, status=Status.SENDING)
    if answer.status is not None and 200 <= answer.status < 300:
        mine.update(
            status=Status.DELIVERED,
            claim=None,
            delivered_at=timezone.now(),
            last_status_code=answer.status,
        )
        return Status.DELIVERED
    since = delivery.first_failure_at or now
    gave_up = now - since >= settings.WEBHOOKS_GIVE_UP
    status = Status.FAILED if gave_up else Status.PENDING
    mine.update(
        status=status,
        claim=None,
        next_attempt_at=now + backoff(delivery.attempts),
        first_failure_at=since,
        last_status_code=answer.status,
    )
    if gave_up:
        logger.warning(
            "webhook delivery %s to %s failed for good after %d attempt(s)",
            delivery.pk,
            delivery.endpoint.url,
            delivery.attempts,
        )
    return status


def deliver(
    ids: Sequence[int] | None = None, *, now: datetime | None = None, limit: int = BATCH_SIZE
) -> dict[str, int]:
    now = now or timezone.now()
    rows = claim(now, ids=ids, limit=len(ids) if ids is not None else limit)
    totals = {"claimed": len(rows), Status.DELIVERED: 0, Status.PENDING: 0, Status.FAILED: 0}
    for index, row in enumerate(rows):
        try:
            totals[send_one(row, now=now)] += 1
        except SoftTimeLimitExceeded:
            # Cut short by Celery (slow endpoints): the one in flight comes back with its
            # lease; the others were never tried and are due again at once, uncounted.
            claims.release(Delivery, rows[index + 1 :], now)
            raise
    return totals


def give_up_stale(now: datetime) -> int:
    return (
        Delivery.objects.due(now)
        .filter(first_failure_at__lte=now - settings.WEBHOOKS_GIVE_UP)
        .update(status=Status.FAILED, claim=None)
    )


def sweep(*, now: datetime | None = None, clock: Callable[[], float] = time.monotonic) -> dict:
    """Send everything due, batch after batch, for half the task's soft time limit."""
    budget = settings.CELERY_TASK_SOFT_TIME_LIMIT / 2
    started = clock()
    totals = {"delivered": 0, "retrying": 0, "failed": give_up_stale(now or timezone.now())}
    while clock() - started < budget:
        result = deliver(now=now)
        totals["delivered"] += result[Status.DELIVERED]
        totals["retrying"] += result[Status.PENDING]
        totals["failed"] += result[Status.FAILED]
        if not result["claimed"]:
            break
    return totals


def redeliver(delivery: Delivery) -> bool:
    """A manager's "send again now": any delivery not being sent right now becomes due
    now, with a new give-up period; the same body and delivery id (the receiver can
    tell it is a copy)."""
    with transaction.atomic():
        count = (
            Delivery.objects.filter(pk=delivery.pk)
            .exclude(status=Status.SENDING)
            .update(status=Status.PENDING, next_attempt_at=timezone.now(), first_failure_at=None)
        )
        if count:
            transaction.on_commit(partial(enqueue_delivery, [delivery.pk]), robust=True)
    return bool(count)
