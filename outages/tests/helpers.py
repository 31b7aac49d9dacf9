"""Building an outage: shops of one city, their terminals and routed network tickets."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from devices.models import Merchant, Provider
from tests.factories import DeviceFactory, MerchantFactory, UserFactory, member_of, queued_ticket
from tickets.models import Category, Ticket


def shop(city: str = "Shanghai", district: str = "", **fields: object) -> Merchant:
    merchant = MerchantFactory(city=city, district=district, **fields)
    member_of(UserFactory(), merchant=merchant)
    return merchant


def host_down_ticket(
    provider: Provider,
    merchant: Merchant | None = None,
    *,
    at: datetime | None = None,
    symptom: str = "host",
    category: str = Category.NETWORK,
) -> Ticket:
    """A shop's 'cannot reach the payment host' ticket, routed to `provider`'s remote
    support queue at `at`."""
    merchant = merchant or shop()
    device = DeviceFactory(merchant=merchant, provider=provider, acquirer=provider)
    at = at or timezone.now()
    kind = "transaction_support" if category == Category.TRANSACTION else "remote_support"
    return queued_ticket(
        device,
        kind=kind,
        category=category,
        symptom=symptom,
        created_at=at,
        now=at,
        can_take_payments=Ticket.Payments.NO,
    )
