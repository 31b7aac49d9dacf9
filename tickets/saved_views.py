"""Saved views (issue 14, item 5): a technician names the filter of a queue list and
finds it on /work/ and beside every queue with a live count.

The count is the list's own: the same filter (`views.work._filtered`) over the same
queue, one COUNT per view, and a technician keeps at most MAX_VIEWS of them, so a page
costs the same queries however many tickets there are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.urls import reverse
from django.utils.http import urlencode

from tickets.forms_work import QueueFilterForm
from tickets.models import SavedView, Ticket

if TYPE_CHECKING:
    from django.http import QueryDict

    from portal.models import User

MAX_VIEWS = 12
# What a saved view keeps of the list's URL: its filter, not the page it was on.
KEPT = tuple(name for name in QueueFilterForm.base_fields if name != "page")


def params_of(query: QueryDict) -> dict[str, str]:
    """The filter parameters of a queue list's URL that are valid and set."""
    form = QueueFilterForm(query)
    valid = form.values()
    return {name: query[name] for name in KEPT if name in valid and query.get(name)}


@dataclass(frozen=True)
class Shown:
    view: SavedView
    count: int
    url: str


def for_user(user: User, provider_id: int, now: datetime) -> list[Shown]:
    """The user's saved views of their provider's queues, each with its live count."""
    from tickets.views.work import _filtered

    shown = []
    views = SavedView.objects.filter(user=user, queue__provider_id=provider_id).select_related(
        "queue"
    )
    for view in views[:MAX_VIEWS]:
        values = QueueFilterForm(view.params).values()
        count = _filtered(Ticket.objects.filter(queue=view.queue_id), values, user, now).count()
        url = reverse("tickets:queue", args=[view.queue_id])
        if view.params:
            url += "?" + urlencode(view.params)
        shown.append(Shown(view=view, count=count, url=url))
    return shown
