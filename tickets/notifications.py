"""E-mail about ticket events, sent from Celery so a slow mail server never slows a page.

`announce_event` is called by whoever writes an event, inside its transaction; it
only schedules the `send_event_email` task for after the commit (a rolled-back
event mails no one). The task decides who hears of it:

- a public event: the merchant's member users (never an internal one), except a
  filing, which they hear of with its routing;
- `routed` / `transferred`: the technicians of the provider of the (new) queue,
  or the platform's admins when it landed in the platform triage queue;
- `sla_breached`: the technicians of the ticket's provider;
- `routing_failed`: the platform's admins;
- a public event written by the merchant: the technician assigned to the ticket.

The person who did it is not mailed about their own action. Each e-mail has a
subject, a plain-text and an HTML template under `templates/tickets/email/`,
rendered once per event and recipient group by `send_templated`.

The task runs on its own Celery queue, `email` (see `CELERY_TASK_QUEUES` in the
settings): a worker serves the default queue first, so routing never waits behind a
burst of e-mails.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.db import transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from tickets.models import Queue, Ticket, TicketEvent

if TYPE_CHECKING:
    from portal.models import User

logger = logging.getLogger(__name__)

ARRIVAL_KINDS = frozenset({TicketEvent.Kind.ROUTED, TicketEvent.Kind.TRANSFERRED})
# Events the merchant's own members need no e-mail about. A filing is told with its
# routing, seconds later, in one e-mail that also says who handles it (the person who
# filed sees the ticket on screen); until then there is nothing to act on.
MERCHANT_QUIET_KINDS = frozenset({TicketEvent.Kind.RATED, TicketEvent.Kind.FILED})


def announce_event(event: TicketEvent) -> None:
    """Schedule the e-mails for `event` once its transaction commits.

    `robust=True`: a broker that cannot be reached loses an e-mail, never the
    action the user just took (which is already committed).
    """
    transaction.on_commit(partial(enqueue_event_email, event.pk), robust=True)


def enqueue_event_email(event_id: int) -> None:
    from tickets.tasks import send_event_email

    # retry=False: with the broker down, fail at once instead of holding up a request.
    send_event_email.apply_async((event_id,), retry=False)


# Who hears of what ----------------------------------------------------------------------


def _users() -> QuerySet:
    from portal.models import User

    return User.objects.filter(is_active=True).exclude(email="").order_by("pk")


def merchant_members(ticket: Ticket) -> QuerySet:
    return _users().filter(membership__merchant_id=ticket.merchant_id)


def provider_technicians(provider_id: int) -> QuerySet:
    return _users().filter(membership__provider_id=provider_id)


def platform_admins() -> QuerySet:
    return _users().filter(is_staff=True)


def _arrival_queue(event: TicketEvent) -> Queue | None:
    """The queue a `routed` or `transferred` event brought the ticket to (read once)."""
    if not hasattr(event, "_arrival_queue"):
        queue_id = event.data.get("to_queue") or event.data.get("queue") or event.ticket.queue_id
        event._arrival_queue = (
            None
            if queue_id is None
            else Queue.objects.select_related("provider").filter(pk=queue_id).first()
        )
    return event._arrival_queue


def mails_for(event: TicketEvent) -> list[tuple[str, list[User]]]:
    """(template name, recipients) pairs for one event; no one appears twice."""
    ticket = event.ticket
    plan: list[tuple[str, list[User]]] = []
    seen: set[int] = set()
    if event.actor_id is not None:
        seen.add(event.actor_id)

    def add(template: str, users: QuerySet | list[User]) -> None:
        fresh = [user for user in users if user.pk not in seen]
        seen.update(user.pk for user in fresh)
        if fresh:
            plan.append((template, fresh))

    if event.public and event.kind not in MERCHANT_QUIET_KINDS:
        add("merchant_update", merchant_members(ticket))
    if event.kind in ARRIVAL_KINDS:
        queue = _arrival_queue(event)
        if queue is not None and queue.provider_id is not None:
            add("ticket_arrived", provider_technicians(queue.provider_id))
        elif queue is not None:
            add("needs_admin", platform_admins())
    elif event.kind == TicketEvent.Kind.SLA_BREACHED:
        if ticket.queue is not None and ticket.queue.provider_id is not None:
            add("sla_breached", provider_technicians(ticket.queue.provider_id))
    elif event.kind == TicketEvent.Kind.ROUTING_FAILED:
        add("needs_admin", platform_admins())
    elif event.public and ticket.assigned_to_id is not None and _by_merchant(event):
        add("technician_update", [ticket.assigned_to])
    return plan


def _by_merchant(event: TicketEvent) -> bool:
    actor = event.actor
    return actor is not None and actor.merchant is not None


# Rendering and sending ----------------------------------------------------------------------


def absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def technician_url(ticket: Ticket) -> str:
    """The ticket in the technician workspace."""
    return absolute(reverse("tickets:work_ticket", args=[ticket.reference]))


# Stands in for the recipient's name while a template is rendered once per event; each
# recipient's copy then gets their own name (escaped in the HTML part). Letters, digits
# and dashes only, so neither autoescaping nor a translation can alter it.
NAME_SLOT = "posdesk-recipient-name-9f3c2a"


def recipient_name(user: User) -> str:
    return user.get_full_name() or user.get_username()


def send_templated(
    template: str, recipients: list[User], context: dict, *, directory: str = "tickets/email"
) -> int:
    """Render `<directory>/<template>-{subject,body}.{txt,html}` once, then send one
    e-mail per recipient (no one sees another's address), greeted by name. Returns the
    number sent. Other apps' e-mails pass their own `directory` (`devices/email`).

    Rendering once instead of once per recipient: a ticket arriving at a provider with
    six technicians used to render seven times the same e-mail in the worker."""
    if not recipients:
        return 0
    ctx = {**context, "recipient_name": NAME_SLOT}
    subject = " ".join(render_to_string(f"{directory}/{template}-subject.txt", ctx).split())
    text = render_to_string(f"{directory}/{template}-body.txt", ctx)
    html = render_to_string(f"{directory}/{template}-body.html", ctx)
    messages = []
    for user in recipients:
        name = recipient_name(user)
        message = EmailMultiAlternatives(
            subject.replace(NAME_SLOT, name), text.replace(NAME_SLOT, name), to=[user.email]
        )
        message.attach_alternative(html.replace(NAME_SLOT, escape(name)), "text/html")
        messages.append(message)
    return mailers.default.send_messages(messages) or 0


def send_event_emails(event_id: int) -> int:
    """Send every e-mail `event_id` calls for. Returns how many were sent."""
    event = TicketEvent.objects.select_related("ticket", "actor").filter(pk=event_id).first()
    if event is None:
        logger.warning("send_event_emails: event %s does not exist", event_id)
        return 0
    plan = mails_for(event)
    if not plan:
        # The usual case of a merchant's own filing: no one else to tell.
        return 0
    # What the e-mails print, in small joins: PostgreSQL spent about 8 ms planning the
    # one nine-table join this used to be, twenty times the time it took to run it.
    ticket = Ticket.objects.select_related("merchant", "device__model__brand").get(
        pk=event.ticket_id
    )
    arrival = _arrival_queue(event) if event.kind in ARRIVAL_KINDS else None
    if arrival is not None and arrival.pk == ticket.queue_id:
        ticket.queue = arrival
    elif ticket.queue_id is not None:
        ticket.queue = Queue.objects.select_related("provider").get(pk=ticket.queue_id)
    event.ticket = ticket
    sent = 0
    with translation.override(settings.LANGUAGE_CODE):
        for template, recipients in plan:
            link = (
                absolute(ticket.get_absolute_url())
                if template == "merchant_update"
                else technician_url(ticket)
            )
            if template == "needs_admin":
                link = absolute(reverse("admin:tickets_ticket_change", args=[ticket.pk]))
            context = {
                "ticket": ticket,
                "event": event,
                "link": link,
                "queue": _arrival_queue(event) if event.kind in ARRIVAL_KINDS else ticket.queue,
                "site_url": settings.SITE_URL,
            }
            sent += send_templated(template, recipients, context)
    return sent
