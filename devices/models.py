from __future__ import annotations

from datetime import date

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from devices.warranty import (
    WarrantyCheck,
    WarrantySource,
    WarrantyStatus,
    add_months,
    warranty_label,
    warranty_status,
)
from portal.validators import (
    normalise_serial,
    refuse_control_characters,
    validate_past_date,
    validate_purchase_date,
    validate_serial,
    validate_warranty_end,
)
from tickets.pci import refuse_card_number


class Provider(models.Model):
    """Who issued and services terminals, or acquires their payments."""

    class Kind(models.TextChoices):
        BANK = "bank", _("Bank")
        PAYMENT_INSTITUTION = "payment_institution", _("Payment institution")
        THIRD_PARTY = "third_party", _("Third-party service provider")
        MANUFACTURER = "manufacturer", _("Manufacturer")

    # Only these acquire card payments, and so handle payment disputes.
    ACQUIRER_KINDS = (Kind.BANK, Kind.PAYMENT_INSTITUTION)

    name = models.CharField(
        _("name"), max_length=120, validators=[refuse_card_number, refuse_control_characters]
    )
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    hotline = models.CharField(
        _("hotline"),
        max_length=40,
        blank=True,
        validators=[refuse_card_number, refuse_control_characters],
    )
    support_24h = models.BooleanField(_("24-hour support"), default=False)
    website = models.URLField(_("website"), blank=True)
    warranty_months = models.PositiveSmallIntegerField(
        _("contract warranty (months)"),
        null=True,
        blank=True,
        help_text=_(
            "The warranty this provider's contract gives its terminals. "
            "Empty: each model's own default warranty."
        ),
    )
    # Outage detection (outages.detection): this many shops of one city reporting the
    # same kind of fault within the window open a suspected incident.
    incident_shops = models.PositiveSmallIntegerField(
        _("shops that make an incident"),
        default=3,
        validators=[MinValueValidator(2)],
        help_text=_(
            "When this many different shops of one city report the same network, software "
            "or payment fault within the window, PosDesk opens a suspected incident."
        ),
    )
    incident_window_minutes = models.PositiveSmallIntegerField(
        _("incident window (minutes)"),
        default=15,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 60)],
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    history = HistoricalRecords(excluded_fields=["created_at"])

    class Meta:
        verbose_name = _("provider")
        verbose_name_plural = _("providers")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="provider_name_unique_ci"),
        ]

    def __str__(self) -> str:
        return self.name


class Merchant(models.Model):
    """A shop (or chain) that owns terminals and files faults."""

    name = models.CharField(
        _("name"), max_length=160, validators=[refuse_card_number, refuse_control_characters]
    )
    contact_phone = models.CharField(
        _("contact phone"),
        max_length=40,
        blank=True,
        validators=[refuse_card_number, refuse_control_characters],
    )
    city = models.CharField(
        _("city"),
        max_length=80,
        blank=True,
        validators=[refuse_card_number, refuse_control_characters],
    )
    district = models.CharField(
        _("district"),
        max_length=80,
        blank=True,
        validators=[refuse_card_number, refuse_control_characters],
        help_text=_("Known problems of the network are announced by city and district."),
    )
    address = models.CharField(
        _("address"),
        max_length=255,
        blank=True,
        validators=[refuse_card_number, refuse_control_characters],
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="Membership",
        through_fields=("merchant", "user"),
        related_name="merchants",
        verbose_name=_("members"),
        blank=True,
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("merchant")
        verbose_name_plural = _("merchants")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """Ties a user to exactly one merchant or one provider (never both, never two)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="membership",
        verbose_name=_("user"),
    )
    merchant = models.ForeignKey(
        Merchant,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="memberships",
        verbose_name=_("merchant"),
    )
    provider = models.ForeignKey(
        Provider,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="memberships",
        verbose_name=_("provider"),
    )
    # Technicians only (a provider's members).
    manager = models.BooleanField(
        _("provider manager"),
        default=False,
        help_text=_("Keeps the provider's canned replies, reports and settings."),
    )
    on_duty = models.BooleanField(
        _("on duty"),
        default=False,
        help_text=_("Receives tickets from queues that assign automatically."),
    )

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(merchant__isnull=False, provider__isnull=True)
                    | Q(merchant__isnull=True, provider__isnull=False)
                ),
                name="membership_one_merchant_or_provider",
                violation_error_message=_("A user belongs to one merchant or one provider."),
            ),
            models.CheckConstraint(
                condition=Q(provider__isnull=False) | Q(manager=False, on_duty=False),
                name="membership_roles_of_technicians",
                violation_error_message=_("Only a provider's technicians manage or go on duty."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.merchant or self.provider}"


class Brand(models.Model):
    name = models.CharField(
        _("name"), max_length=80, validators=[refuse_card_number, refuse_control_characters]
    )
    support_note = models.CharField(
        _("support note"),
        max_length=200,
        blank=True,
        validators=[refuse_card_number, refuse_control_characters],
        help_text=_("E.g. 24-hour phone support, or send to a local authorised repair centre."),
    )

    class Meta:
        verbose_name = _("brand")
        verbose_name_plural = _("brands")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="brand_name_unique_ci"),
        ]

    def __str__(self) -> str:
        return self.name


class DeviceModel(models.Model):
    brand = models.ForeignKey(
        Brand, on_delete=models.PROTECT, related_name="models", verbose_name=_("brand")
    )
    name = models.CharField(
        _("model name"), max_length=80, validators=[refuse_card_number, refuse_control_characters]
    )
    default_warranty_months = models.PositiveSmallIntegerField(
        _("default warranty (months)"), default=12
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("device model")
        verbose_name_plural = _("device models")
        ordering = ["brand__name", "name"]
        constraints = [
            models.UniqueConstraint(
                "brand", Lower("name"), name="devicemodel_name_unique_per_brand"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.brand.name} {self.name}"


class DeviceQuerySet(models.QuerySet):
    def visible_to(self, user) -> DeviceQuerySet:  # noqa: ANN001
        """Devices `user` may see: a merchant's own; a technician those its provider
        services; staff all; anyone else none."""
        if not user.is_authenticated:
            return self.none()
        if user.is_staff:
            return self.all()
        merchant = user.merchant
        if merchant is not None:
            return self.filter(merchant=merchant)
        provider = user.provider
        if provider is not None:
            return self.filter(provider=provider)
        return self.none()


def proof_upload_to(instance: Device, filename: str) -> str:
    import uuid
    from pathlib import PurePath

    suffix = PurePath(filename).suffix.lower()[:10]
    return f"proofs/{uuid.uuid4().hex}{suffix}"


class Device(models.Model):
    """A POS terminal in a merchant's shop."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        IN_REPAIR = "in_repair", _("In repair")
        REPLACED = "replaced", _("Replaced")
        RETIRED = "retired", _("Retired")

    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="devices", verbose_name=_("merchant")
    )
    provider = models.ForeignKey(
        Provider,
        on_delete=models.PROTECT,
        related_name="serviced_devices",
        verbose_name=_("service provider"),
    )
    acquirer = models.ForeignKey(
        Provider,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="acquired_devices",
        verbose_name=_("acquirer"),
        help_text=_("The bank or payment institution that acquires this terminal's payments."),
    )
    model = models.ForeignKey(
        DeviceModel, on_delete=models.PROTECT, related_name="devices", verbose_name=_("model")
    )
    # Copied from the model so the database can hold "serial unique per brand".
    brand = models.ForeignKey(
        Brand, on_delete=models.PROTECT, related_name="devices", editable=False
    )
    serial_number = models.CharField(
        _("serial number"),
        max_length=64,
        validators=[refuse_card_number, refuse_control_characters, validate_serial],
    )
    purchase_date = models.DateField(
        _("purchase date"), null=True, blank=True, validators=[validate_purchase_date]
    )
    warranty_end = models.DateField(
        _("warranty end"),
        null=True,
        blank=True,
        validators=[validate_warranty_end],
        help_text=_("Left empty, it is the purchase date plus the model's warranty months."),
    )
    warranty_void = models.BooleanField(_("warranty voided"), default=False)
    warranty_void_reason = models.CharField(
        _("reason the warranty is void"),
        max_length=200,
        blank=True,
        validators=[refuse_card_number, refuse_control_characters],
    )
    warranty_voided_on = models.DateField(
        _("warranty voided on"),
        null=True,
        blank=True,
        validators=[validate_past_date],
        help_text=_("Left empty when the warranty is voided, it is that day."),
    )
    # Who pays must not be up to the person who benefits: the merchant's dates are a
    # claim until the provider (a technician, its register) or an admin checks them.
    warranty_check = models.CharField(
        _("warranty check"),
        max_length=10,
        choices=WarrantyCheck.choices,
        default=WarrantyCheck.CLAIMED,
    )
    warranty_checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("warranty checked by"),
    )
    warranty_checked_at = models.DateTimeField(_("warranty checked"), null=True, blank=True)
    warranty_source = models.CharField(
        _("checked against"), max_length=10, choices=WarrantySource.choices, blank=True
    )
    warranty_check_note = models.CharField(
        _("check note"),
        max_length=200,
        blank=True,
        help_text=_("Why a claim was rejected, or what was checked."),
        validators=[refuse_card_number, refuse_control_characters],
    )
    # The last time the merchant changed a field the warranty rests on: a ticket filed
    # soon after carries a visible flag for the technician.
    merchant_changed_warranty_at = models.DateTimeField(
        _("merchant changed warranty fields"), null=True, blank=True, editable=False
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE
    )
    location = models.CharField(
        _("location"),
        max_length=120,
        blank=True,
        help_text=_("E.g. front counter, till 2."),
        validators=[refuse_card_number, refuse_control_characters],
    )
    proof_of_purchase = models.FileField(
        _("proof of purchase"), upload_to=proof_upload_to, null=True, blank=True
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = DeviceQuerySet.as_manager()
    # Every change to the fields who-pays rests on, with who made it (technicians read
    # it on the terminal's page; admins in the admin's history).
    history = HistoricalRecords(excluded_fields=["created_at", "updated_at", "proof_of_purchase"])

    class Meta:
        verbose_name = _("device")
        verbose_name_plural = _("devices")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["brand", "serial_number"],
                name="device_serial_unique_per_brand",
                violation_error_message=_(
                    "A terminal of this brand with this serial number is already registered."
                ),
            ),
            models.CheckConstraint(
                condition=Q(warranty_void=False) | ~Q(warranty_void_reason=""),
                name="device_void_warranty_has_reason",
                violation_error_message=_("Say why the warranty is void."),
            ),
            models.CheckConstraint(
                condition=~Q(warranty_check=WarrantyCheck.VERIFIED)
                | Q(warranty_checked_at__isnull=False),
                name="device_verified_warranty_has_time",
            ),
            models.CheckConstraint(
                condition=(
                    Q(warranty_end__isnull=True)
                    | Q(purchase_date__isnull=True)
                    | Q(warranty_end__gte=F("purchase_date"))
                ),
                name="device_warranty_end_after_purchase",
                violation_error_message=_("The warranty cannot end before the purchase date."),
            ),
        ]
        indexes = [
            # The merchant's device list, newest first.
            models.Index(fields=["merchant", "-created_at"], name="device_merchant_created"),
        ]

    def __str__(self) -> str:
        return f"{self.model} · {self.serial_number}"

    def save(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        self.serial_number = normalise_serial(self.serial_number)
        if self.model_id is not None:
            self.brand_id = self.model.brand_id
        if self.warranty_end is None:
            # The documented default (see the field's help text), not a silent rewrite:
            # an entered end date is always kept.
            self.warranty_end = self.default_warranty_end()
        if self.warranty_void and self.warranty_voided_on is None:
            # As the help text says; "void since" is never a blank on the labels.
            self.warranty_voided_on = timezone.localdate()
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("devices:detail", args=[self.pk])

    def default_warranty_end(self) -> date | None:
        """The purchase date plus the provider's contract months, else the model's."""
        if self.purchase_date is None or self.model_id is None:
            return None
        months = None
        if self.provider_id is not None:
            months = self.provider.warranty_months
        if months is None:
            months = self.model.default_warranty_months
        return add_months(self.purchase_date, months)

    def warranty_status(self, on: date | None = None) -> WarrantyStatus:
        return warranty_status(self, on=on)

    def warranty_label(self, on: date | None = None) -> str:
        return warranty_label(
            self.warranty_status(on),
            end=self.warranty_end,
            voided_on=self.warranty_voided_on,
            void_reason=self.warranty_void_reason,
            check=self.warranty_check,
            check_note=self.warranty_check_note,
        )

    @property
    def warranty_verified(self) -> bool:
        return self.warranty_check == WarrantyCheck.VERIFIED

    @property
    def warranty_days_left(self) -> int | None:
        if self.warranty_end is None or self.warranty_void:
            return None
        return (self.warranty_end - timezone.localdate()).days


class RegistrationReview(models.Model):
    """A terminal a shop registered under a serial number another shop's terminal has.

    The shop is never told so: that would tell anyone which serial numbers exist in
    other shops. Its registration waits here instead, with everything it typed, for an
    admin to find out which shop really has the terminal (sold on or moved, a typo, or
    someone trying serial numbers: `submitted_by` says who). The shop hears that the
    terminal needs a check before it is listed. The database keeps one terminal per
    serial of a brand (device_serial_unique_per_brand); the admin moves or registers the
    terminal, then records the outcome here.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for a check")
        REGISTERED = "registered", _("Registered to this shop")
        REFUSED = "refused", _("Refused")

    merchant = models.ForeignKey(
        Merchant,
        on_delete=models.CASCADE,
        related_name="registration_reviews",
        verbose_name=_("merchant"),
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("submitted by"),
    )
    model = models.ForeignKey(
        DeviceModel, on_delete=models.PROTECT, related_name="+", verbose_name=_("model")
    )
    # Copied from the model, as on Device, for the constraint below.
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+", editable=False)
    serial_number = models.CharField(
        _("serial number"),
        max_length=64,
        validators=[refuse_card_number, refuse_control_characters, validate_serial],
    )
    purchase_date = models.DateField(
        _("purchase date"), null=True, blank=True, validators=[validate_purchase_date]
    )
    provider = models.ForeignKey(
        Provider, on_delete=models.PROTECT, related_name="+", verbose_name=_("service provider")
    )
    acquirer = models.ForeignKey(
        Provider,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("acquirer"),
    )
    location = models.CharField(
        _("location"),
        max_length=120,
        blank=True,
        validators=[refuse_card_number, refuse_control_characters],
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PENDING
    )
    note = models.CharField(
        _("what the admin found"),
        max_length=200,
        blank=True,
        validators=[refuse_card_number, refuse_control_characters],
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("checked by"),
    )
    decided_at = models.DateTimeField(_("checked"), null=True, blank=True)
    created_at = models.DateTimeField(_("submitted"), default=timezone.now)

    class Meta:
        verbose_name = _("registration to check")
        verbose_name_plural = _("registrations to check")
        ordering = ["-created_at", "-id"]
        constraints = [
            # A shop's serial waits once: sending it again is answered from the waiting
            # row (services.hold_for_review). Its index also serves the shop's list of
            # waiting registrations (merchant, status='pending').
            models.UniqueConstraint(
                fields=["merchant", "brand", "serial_number"],
                condition=Q(status="pending"),
                name="registration_review_one_pending_per_serial",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model} · {self.serial_number}"

    def save(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        self.serial_number = normalise_serial(self.serial_number)
        if self.model_id is not None:
            self.brand_id = self.model.brand_id
        super().save(*args, **kwargs)

    @property
    def registered_device(self) -> Device | None:
        """The terminal that has this serial now, in whichever shop."""
        return (
            Device.objects.select_related("merchant")
            .filter(brand_id=self.brand_id, serial_number=self.serial_number)
            .first()
        )


class WarrantyReminder(models.Model):
    """A shop was e-mailed that a terminal's warranty ends soon (see devices.reminders).

    Written in the transaction that sends the e-mail: a failed send leaves no row, and
    the next beat run tries again.
    """

    # No index of its own: the unique constraint below leads with the device.
    device = models.ForeignKey(
        Device,
        on_delete=models.CASCADE,
        db_index=False,
        related_name="warranty_reminders",
        verbose_name=_("device"),
    )
    # The end date the shop was told of: a warranty extended to a new end date gets a
    # reminder of its own.
    warranty_end = models.DateField(_("warranty end"))
    # The shop that was told, still right if the terminal later moves to another shop.
    merchant = models.ForeignKey(
        Merchant,
        on_delete=models.CASCADE,
        related_name="warranty_reminders",
        verbose_name=_("merchant"),
    )
    sent_at = models.DateTimeField(_("sent"), default=timezone.now)

    class Meta:
        verbose_name = _("warranty reminder")
        verbose_name_plural = _("warranty reminders")
        constraints = [
            # One reminder per terminal and end date. Its index serves the "not yet
            # reminded" test of reminders.due_devices (device, warranty_end); and should
            # two runs ever claim the same terminal, the second insert fails before its
            # e-mail goes out.
            models.UniqueConstraint(
                fields=["device", "warranty_end"], name="warranty_reminder_once_per_end"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.device} · {self.warranty_end.isoformat()}"


class WarrantyRegisterEntry(models.Model):
    """One terminal in a provider's warranty register, as its technicians uploaded it
    (devices.register). The latest upload listing a serial replaces the earlier entry.

    Kept after the upload, so a terminal a merchant registers later is verified from it.
    """

    # No index of its own: the unique constraint below leads with the provider.
    provider = models.ForeignKey(
        Provider,
        on_delete=models.CASCADE,
        db_index=False,
        related_name="warranty_register",
        verbose_name=_("provider"),
    )
    # Its index serves the PROTECT check when a brand is deleted.
    brand = models.ForeignKey(
        Brand, on_delete=models.PROTECT, related_name="+", verbose_name=_("brand")
    )
    # As Device.serial_number: normalised (normalise_serial), so the two compare equal.
    serial = models.CharField(
        _("serial number"),
        max_length=64,
        validators=[refuse_card_number, refuse_control_characters, validate_serial],
    )
    sold_on = models.DateField(
        _("shipped or sold on"), null=True, blank=True, validators=[validate_past_date]
    )
    warranty_end = models.DateField(_("warranty end"), validators=[validate_warranty_end])
    # Its index serves SET_NULL when a user is deleted.
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("imported by"),
    )
    # The latest upload that listed this serial.
    imported_at = models.DateTimeField(_("imported"), default=timezone.now)

    class Meta:
        verbose_name = _("warranty register entry")
        verbose_name_plural = _("warranty register entries")
        constraints = [
            # One entry per serial of a brand in a provider's register. The conflict
            # target of the upsert in register.apply_register, and its index serves the
            # lookup of one terminal's entry in register.verify_from_register
            # (provider, brand, serial).
            models.UniqueConstraint(
                fields=["provider", "brand", "serial"], name="warranty_register_one_per_serial"
            ),
            # As on Device: a warranty cannot end before the terminal was sold.
            models.CheckConstraint(
                condition=Q(sold_on__isnull=True) | Q(warranty_end__gte=F("sold_on")),
                name="warranty_register_end_after_sale",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.brand_id} · {self.serial} · {self.warranty_end.isoformat()}"
