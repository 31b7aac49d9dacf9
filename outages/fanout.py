"""One incident update for all its shops, in one task with a fixed number of queries.

`fan_out(update_id)` (the `fan_out_update` task) writes the update on the timeline of
every open linked ticket (one INSERT), or, for the resolution, resolves them all
(`tickets.workflow.resolve_many`: one UPDATE and one INSERT), then writes one e-mail per
person of each shop, in their language, naming that shop's tickets (rendered once per
language: `mail.services.compose` fills in each reader's part). However many tickets
are linked, the statements are the same (in batches of 5,000 rows).

It runs once per update: the update row is locked and stamped `fanned_out_at` in the
same transaction, so a task delivered twice, or queued again by the sweep, does
nothing the second time.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from mail import services as outbox
from outages.models import IncidentUpdate
from outages.services import incident_facts
from tickets import events, notifications, workflow
from tickets.models import Ticket, TicketEvent

logger = logging.getLogger(__name__)

REFERENCES_SLOT = "posdesk-shop-tickets-4b1d7e"
LINK_SLOT = "posdesk-shop-link-8c2e5a"


def fan_out(update_id: int) -> int:
    """Returns how many tickets the update reached (0 when it had been sent already)."""
    with transaction.atomic():
        update = (
            IncidentUpdate.objects.select_for_update(of=("self",))
            .select_related("incident__provider", "author")
            .filter(pk=update_id)
            .first()
        )
        if update is None or not update.public or update.fanned_out_at is not None:
            return 0
        incident = update.incident
        linked = Ticket.objects.filter(incident_link__incident=incident)
        facts = {
            **incident_facts(incident),
            "update": update.pk,
            "update_kind": update.kind,
            "body_zh_hans": update.body_zh_hans,
        }
        if update.kind == IncidentUpdate.Kind.RESOLVED:
            reached = workflow.resolve_many(
                linked,
                update.author,
                provider_id=incident.provider_id,
                data=facts,
                body=update.body,
            )
        else:
            reached = list(
                linked.filter(status__in=workflow.FILED)
                .order_by("pk")
                .values_list("pk", "merchant_id", "reference", "queue__provider_id")
            )
            events.record_many(
                [(pk, provider) for pk, _merchant, _reference, provider in reached],
                TicketEvent.Kind.INCIDENT_UPDATE,
                update.author,
                update.body,
                data=facts,
            )
        _mail_shops(update, reached)
        update.fanned_out_at = timezone.now()
        update.tickets_reached = len(reached)
        update.save(update_fields=["fanned_out_at", "tickets_reached"])
    logger.info("outages: update %s reached %s tickets", update_id, len(reached))
    return len(reached)


def _mail_shops(update: IncidentUpdate, reached: list[tuple]) -> list[int]:
    """One e-mail per person of each shop, naming that shop's tickets."""
    if not reached:
        return []
    shops: dict[int, list[str]] = defaultdict(list)
    for _pk, merchant_id, reference, *_rest in reached:
        shops[merchant_id].append(reference)
    readers = list(
        notifications._users()
        .filter(membership__merchant_id__in=list(shops))
        .select_related("membership")
    )
    if not readers:
        return []

    def slots(user) -> dict[str, str]:  # noqa: ANN001 - a User
        references = sorted(shops[user.membership.merchant_id])
        if len(references) == 1:
            path = reverse("tickets:detail", args=[references[0]])
        else:
            path = reverse("tickets:list")
        return {
            REFERENCES_SLOT: ", ".join(references),
            LINK_SLOT: notifications.absolute(path),
        }

    context = {
        "incident": update.incident,
        "update": update,
        "references": REFERENCES_SLOT,
        "link": LINK_SLOT,
        "site_url": settings.SITE_URL,
        "resolved": update.kind == IncidentUpdate.Kind.RESOLVED,
    }
    return outbox.queue(
        outbox.compose(
            "incident_update",
            readers,
            context,
            directory="outages/email",
            key=f"incident-update:{update.pk}",
            slots=slots,
        )
    )
