"""Every repairs URL outside the user's scope is a 404, and nothing changes; the
actions answer GET with 405."""

from __future__ import annotations

import pytest
from django.urls import reverse

from repairs.models import Repair
from repairs.tests.helpers import slot_post, warranty_ticket
from repairs.tests.test_start import SEND_IN, SWAP
from repairs.urls import urlpatterns

NAMES = sorted(f"repairs:{pattern.name}" for pattern in urlpatterns)
RECEIPTS = {"repairs:receipt", "repairs:work_receipt"}
FULL_POST = {
    **SEND_IN,
    **SWAP,
    **slot_post("visit"),
    **slot_post("propose"),
    **slot_post("counter"),
}
FULL_POST |= {"ship_back-courier": "SF", "ship_back-tracking": "SF1"}


def test_every_url_is_checked() -> None:
    assert len(NAMES) == 16


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("outsider", ["yuri", "bob"])
def test_outsiders_get_404(world, as_user, name, outsider) -> None:  # noqa: ANN001
    ticket = warranty_ticket(world)
    Repair.objects.create(
        ticket=ticket, method="send_in", step="awaiting_unit", created_by=world.xavier
    )
    client = as_user(getattr(world, outsider))
    url = reverse(name, args=[ticket.reference])
    events_before = ticket.events.count()
    assert client.post(url, FULL_POST).status_code in ({404, 405} if name in RECEIPTS else {404})
    if name in RECEIPTS:
        assert client.get(url).status_code == 404
    assert ticket.events.count() == events_before
    assert Repair.objects.get(ticket=ticket).step == "awaiting_unit"


@pytest.mark.parametrize("name", sorted(set(NAMES) - RECEIPTS))
def test_actions_refuse_get(world, as_user, name) -> None:  # noqa: ANN001
    ticket = warranty_ticket(world)
    user = world.xavier if ":work_" in name else world.alice
    assert as_user(user).get(reverse(name, args=[ticket.reference])).status_code == 405
