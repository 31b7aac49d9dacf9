"""Factories for the test world. Each builds a valid object with the least typing."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import factory
from django.utils import timezone

from devices.models import Brand, Device, DeviceModel, Membership, Merchant, Provider
from devices.warranty import WarrantyCheck, WarrantySource
from portal.models import User
from tickets.models import Category, Ticket
from tickets.services import warranty_at_filing

PASSWORD = "posdesk-test-pw"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password(PASSWORD)
    # Every e-mail, as before preferences existed (issue 18): the tests written since
    # expect them. The busy-desk defaults are tested in tickets/tests/test_preferences.py.
    notify_arrivals = User.Arrivals.EVERY
    notify_shop_updates = User.ShopUpdates.EVERY


class ProviderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Provider

    name = factory.Sequence(lambda n: f"Provider {n}")
    kind = Provider.Kind.THIRD_PARTY
    hotline = "400-800-0000"


class MerchantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Merchant

    name = factory.Sequence(lambda n: f"Shop {n}")
    contact_phone = "+86 138 0000 0000"
    city = "Shanghai"


class BrandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Brand

    name = factory.Sequence(lambda n: f"Brand{n}")


class DeviceModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeviceModel

    brand = factory.SubFactory(BrandFactory)
    name = factory.Sequence(lambda n: f"M{n}")
    default_warranty_months = 12


class DeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Device

    merchant = factory.SubFactory(MerchantFactory)
    provider = factory.SubFactory(ProviderFactory)
    model = factory.SubFactory(DeviceModelFactory)
    serial_number = factory.Sequence(lambda n: f"SN{n:08d}")
    purchase_date = factory.LazyFunction(lambda: date.today() - timedelta(days=100))
    warranty_end = factory.LazyFunction(lambda: date.today() + timedelta(days=265))
    # A terminal the provider already vouches for; claims are made on purpose in tests.
    warranty_check = WarrantyCheck.VERIFIED
    warranty_checked_at = factory.LazyFunction(timezone.now)
    warranty_source = WarrantySource.RECORDS
    location = "Front counter"


class TicketFactory(factory.django.DjangoModelFactory):
    """A filed ticket (state `new`, no queue). Route it with the routing service."""

    class Meta:
        model = Ticket

    device = factory.SubFactory(DeviceFactory)
    merchant = factory.LazyAttribute(lambda t: t.device.merchant)
    reporter = factory.SubFactory(UserFactory)
    category = Category.HARDWARE
    symptom = "screen"
    can_take_payments = Ticket.Payments.NO
    priority = 1
    description = "The screen stays dark."
    callback_phone = "+86 138 0000 0000"
    created_at = factory.LazyFunction(timezone.now)

    class Params:
        # The same copy of the terminal's warranty that filing makes.
        warranty_copy = factory.LazyAttribute(lambda t: warranty_at_filing(t.device, t.created_at))

    warranty_status = factory.LazyAttribute(lambda t: t.warranty_copy["warranty_status"])
    warranty_end = factory.LazyAttribute(lambda t: t.warranty_copy["warranty_end"])
    warranty_voided_on = factory.LazyAttribute(lambda t: t.warranty_copy["warranty_voided_on"])
    warranty_void_reason = factory.LazyAttribute(lambda t: t.warranty_copy["warranty_void_reason"])
    warranty_check = factory.LazyAttribute(lambda t: t.warranty_copy["warranty_check"])
    warranty_check_note = factory.LazyAttribute(lambda t: t.warranty_copy["warranty_check_note"])
    warranty_edited_at = factory.LazyAttribute(lambda t: t.warranty_copy["warranty_edited_at"])


def member_of(
    user: User, *, merchant: Merchant | None = None, provider: Provider | None = None
) -> User:
    Membership.objects.create(user=user, merchant=merchant, provider=provider)
    return user


def queued_ticket(
    device: Device,
    *,
    kind: str = "warranty_repair",
    provider: Provider | None = None,
    status: str = Ticket.Status.QUEUED,
    billable: bool | None = False,
    now: datetime | None = None,
    **fields: object,
) -> Ticket:
    """A ticket as routing leaves it: in `provider`'s queue of `kind` (default: the
    device's provider), with SLA due times from `now`. `status` is set directly, so a
    test can start from any state without walking the workflow there."""
    from tickets.models import Queue

    queue = Queue.objects.get(provider=provider or device.provider, kind=kind)
    ticket = TicketFactory(device=device, billable=billable, **fields)
    ticket.queue = queue
    ticket.status = status
    ticket.routed_at = now or timezone.now()
    ticket.set_sla_due(now)
    ticket.save()
    return ticket
