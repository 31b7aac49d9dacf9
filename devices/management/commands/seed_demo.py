"""Demo data for `make run`: providers, brands and models, two merchants with terminals
in every warranty state, and one log-in per role. Running it again creates nothing new."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from devices.models import Brand, Device, DeviceModel, Membership, Merchant, Provider
from devices.warranty import WarrantyCheck, WarrantySource
from portal.models import User

PASSWORD = "posdesk-demo"

PROVIDERS = [
    # name, kind, hotline, 24h support, website
    ("ICBC Merchant Services", Provider.Kind.BANK, "95588", True, "https://www.icbc.com.cn"),
    ("Lakala", Provider.Kind.PAYMENT_INSTITUTION, "95016", True, "https://www.lakala.com"),
    ("PayServe Tech", Provider.Kind.THIRD_PARTY, "400-820-1234", False, ""),
    ("PAX Technology", Provider.Kind.MANUFACTURER, "400-880-6666", False, ""),
]

BRANDS = {
    # brand: (support note, [(model, default warranty months)])
    "PAX": (
        "24-hour phone and web support.",
        [("A920", 24), ("S920", 12), ("A80", 24)],
    ),
    "Verifone": (
        "Send the terminal to a local authorised repair centre.",
        [("V200c", 12), ("X990", 12)],
    ),
    "Ingenico": (
        "Send the terminal to a local authorised repair centre.",
        [("Move/5000", 24), ("Desk/3500", 12)],
    ),
    "Newland": ("24-hour phone support.", [("ME31", 12), ("N910", 24)]),
}

MERCHANTS = [
    # name, phone, city, address
    (
        "Jade Garden Restaurant",
        "+86 21 6253 1888",
        "Shanghai",
        "88 Nanjing West Road, Jing'an District",
    ),
    (
        "Sunrise Convenience Store",
        "+86 755 8326 4410",
        "Shenzhen",
        "12 Huaqiang North Road, Futian District",
    ),
]


@dataclass(frozen=True)
class DemoDevice:
    merchant: int  # index into MERCHANTS
    brand: str
    model: str
    serial: str
    provider: str
    acquirer: str
    location: str
    bought_days_ago: int | None  # None: no purchase date, so warranty unknown
    void_reason: str = ""
    status: str = Device.Status.ACTIVE
    # The merchant's claim, not yet checked by the provider (the others are verified
    # from the provider's records, as terminals a provider issued itself would be).
    claimed: bool = False


ICBC, LAKALA, PAYSERVE = "ICBC Merchant Services", "Lakala", "PayServe Tech"

# Merchant 1's terminals are mostly serviced by ICBC (tech1's provider), merchant 2's by
# Lakala (tech2's), so a demo fault on either reaches a demo technician.
DEVICES = [
    DemoDevice(0, "PAX", "A920", "1850123401", ICBC, ICBC, "Front counter", 90),
    DemoDevice(0, "PAX", "A920", "1850123402", ICBC, ICBC, "Bar", 400),
    DemoDevice(0, "PAX", "S920", "1850123403", ICBC, ICBC, "Terrace", 500),  # out
    DemoDevice(0, "Verifone", "V200c", "401-337-901", ICBC, ICBC, "Till 2", 700),  # out
    DemoDevice(
        0,
        "Ingenico",
        "Move/5000",
        "21093ML00417",
        ICBC,
        ICBC,
        "Delivery desk",
        120,
        void_reason="Liquid damage: tea spilled into the keypad.",
    ),
    DemoDevice(0, "Newland", "ME31", "N7Q2210451", PAYSERVE, ICBC, "Back office", None),
    DemoDevice(0, "PAX", "A80", "0820551197", ICBC, LAKALA, "Private room", 30, claimed=True),
    DemoDevice(1, "PAX", "A920", "1850987601", LAKALA, LAKALA, "Till 1", 60),
    DemoDevice(1, "PAX", "A920", "1850987602", LAKALA, LAKALA, "Till 2", 200, claimed=True),
    DemoDevice(1, "Newland", "N910", "N910KX8812", LAKALA, LAKALA, "Lottery counter", 800),
    DemoDevice(
        1,
        "Verifone",
        "X990",
        "275-118-664",
        LAKALA,
        ICBC,
        "Spare",
        300,
        void_reason="Casing cracked after a fall; seal broken.",
        status=Device.Status.IN_REPAIR,
    ),
    DemoDevice(1, "Ingenico", "Desk/3500", "19114CT20388", PAYSERVE, LAKALA, "Till 3", None),
    DemoDevice(
        1,
        "PAX",
        "S920",
        "1850987603",
        LAKALA,
        LAKALA,
        "Storeroom",
        1200,
        status=Device.Status.RETIRED,
    ),
]

USERS = [
    # username, first name, merchant index, provider name
    ("merchant1", "Mei Chen", 0, None),
    ("merchant2", "Wei Zhang", 1, None),
    ("tech1", "Hao Li", None, ICBC),
    ("tech2", "Jun Wang", None, LAKALA),
]


class Command(BaseCommand):
    help = "Create (or refresh) the demo data and log-ins. Demo only: refuses when DEBUG is off."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="Run even though DEBUG is off.")

    def handle(self, *args: object, force: bool = False, **options: object) -> None:
        if not settings.DEBUG and not force:
            raise CommandError(
                "DEBUG is off: this looks like production. seed_demo creates users with a "
                "published password; use --force if you really mean it."
            )
        with transaction.atomic():
            providers = self.seed_providers()
            models = self.seed_models()
            merchants = self.seed_merchants()
            self.seed_devices(providers, models, merchants)
            self.seed_users(providers, merchants)
        self.seed_tickets()
        self.print_logins()

    def seed_providers(self) -> dict[str, Provider]:
        providers = {}
        for name, kind, hotline, support_24h, website in PROVIDERS:
            providers[name], _created = Provider.objects.update_or_create(
                name=name,
                defaults={
                    "kind": kind,
                    "hotline": hotline,
                    "support_24h": support_24h,
                    "website": website,
                    "active": True,
                },
            )
        return providers

    def seed_models(self) -> dict[tuple[str, str], DeviceModel]:
        models = {}
        for brand_name, (note, brand_models) in BRANDS.items():
            brand, _created = Brand.objects.update_or_create(
                name=brand_name, defaults={"support_note": note}
            )
            for model_name, months in brand_models:
                models[brand_name, model_name], _created = DeviceModel.objects.update_or_create(
                    brand=brand, name=model_name, defaults={"default_warranty_months": months}
                )
        return models

    def seed_merchants(self) -> list[Merchant]:
        merchants = []
        for name, phone, city, address in MERCHANTS:
            merchant, _created = Merchant.objects.update_or_create(
                name=name, defaults={"contact_phone": phone, "city": city, "address": address}
            )
            merchants.append(merchant)
        return merchants

    def seed_devices(
        self,
        providers: dict[str, Provider],
        models: dict[tuple[str, str], DeviceModel],
        merchants: list[Merchant],
    ) -> None:
        today = timezone.localdate()
        for spec in DEVICES:
            device_model = models[spec.brand, spec.model]
            purchase_date: date | None = None
            if spec.bought_days_ago is not None:
                purchase_date = today - timedelta(days=spec.bought_days_ago)
            # Dates are relative to today so each terminal keeps its warranty state
            # however long after the first run the demo is started again.
            Device.objects.update_or_create(
                brand=device_model.brand,
                serial_number=spec.serial,
                defaults={
                    "merchant": merchants[spec.merchant],
                    "model": device_model,
                    "provider": providers[spec.provider],
                    "acquirer": providers[spec.acquirer],
                    "location": spec.location,
                    "status": spec.status,
                    "purchase_date": purchase_date,
                    "warranty_end": None,  # save() sets purchase date + the model's months
                    "warranty_void": bool(spec.void_reason),
                    "warranty_void_reason": spec.void_reason,
                    **self.warranty_check(spec, purchase_date),
                },
            )

    @staticmethod
    def warranty_check(spec: DemoDevice, purchase_date: date | None) -> dict[str, object]:
        if spec.claimed or purchase_date is None:
            return {
                "warranty_check": WarrantyCheck.CLAIMED,
                "warranty_checked_at": None,
                "warranty_source": "",
            }
        return {
            "warranty_check": WarrantyCheck.VERIFIED,
            "warranty_checked_at": timezone.now(),
            "warranty_source": WarrantySource.RECORDS,
        }

    def seed_users(self, providers: dict[str, Provider], merchants: list[Merchant]) -> None:
        admin = self.demo_user("admin", "Platform Admin")
        if not (admin.is_staff and admin.is_superuser):
            admin.is_staff = admin.is_superuser = True
            admin.save(update_fields=["is_staff", "is_superuser"])
        for username, full_name, merchant_index, provider_name in USERS:
            user = self.demo_user(username, full_name)
            Membership.objects.update_or_create(
                user=user,
                defaults={
                    "merchant": merchants[merchant_index] if merchant_index is not None else None,
                    "provider": providers[provider_name] if provider_name else None,
                },
            )

    def demo_user(self, username: str, full_name: str) -> User:
        first, _space, last = full_name.partition(" ")
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "email": f"{username}@example.com"},
        )
        # The printed log-ins must work, even after someone changed a demo password.
        if created or not user.check_password(PASSWORD):
            user.set_password(PASSWORD)
            user.save(update_fields=["password"])
        return user

    def seed_tickets(self) -> None:
        """Hook for the tickets app: `tickets.demo.seed_demo_tickets(stdout)`, if it exists."""
        try:
            demo = importlib.import_module("tickets.demo")
        except ModuleNotFoundError as exc:
            if exc.name != "tickets.demo":
                raise
            return
        seed = getattr(demo, "seed_demo_tickets", None)
        if seed is not None:
            seed(self.stdout)

    def print_logins(self) -> None:
        self.stdout.write(self.style.SUCCESS("Demo data ready. Log in at /accounts/login/ with:"))
        rows = [
            ("admin", "platform admin (Django admin)"),
            ("merchant1", MERCHANTS[0][0]),
            ("merchant2", MERCHANTS[1][0]),
            ("tech1", f"technician, {ICBC}"),
            ("tech2", f"technician, {LAKALA}"),
        ]
        for username, who in rows:
            self.stdout.write(f"  {username:<10} / {PASSWORD}   {who}")
