"""Changes to a terminal's warranty: who may make them, and what each one leaves behind.

The merchant *claims* a warranty (purchase date, proof of purchase); the warranty end
follows from it (`Device.default_warranty_end`). Only the provider's technicians or an
admin set, extend, void, verify or reject it. A merchant's correction of a field the
warranty rests on (`CLAIM_FIELDS`) turns a verified warranty back into a claim. Every
save leaves a row in the device's history (django-simple-history), with who made it.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from devices.models import Device, RegistrationReview, normalise_serial
from devices.register import verify_from_register
from devices.warranty import CLAIM_FIELDS, WARRANTY_FIELDS, WarrantyCheck, WarrantySource
from portal.storage import atomic_with_uploads, delete_on_commit

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile

    from devices.models import DeviceModel, Merchant, Provider
    from portal.models import User


class WarrantyRefused(Exception):
    """A warranty change this user may not make, or that makes no sense; for people."""


def may_manage_warranty(user: User, device: Device) -> bool:
    """The device's provider's technicians and admins; never the merchant."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_staff:
        return True
    provider = user.provider
    return provider is not None and provider.pk == device.provider_id


def _reset_check(device: Device) -> None:
    device.warranty_check = WarrantyCheck.CLAIMED
    device.warranty_checked_by = None
    device.warranty_checked_at = None
    device.warranty_source = ""
    device.warranty_check_note = ""


def merchant_saved(device: Device, changed: list[str], *, creating: bool) -> Device:
    """Apply the warranty rules to a device the merchant's form is about to save.

    The merchant never sets the end date or the void: the end follows from the
    purchase date and the contract's (or model's) months. Called before `save()`.
    """
    now = timezone.now()
    if creating:
        _reset_check(device)
        device.warranty_end = device.default_warranty_end()
        return verify_from_register(device)
    if {"purchase_date", "model", "provider"} & set(changed):
        device.warranty_end = device.default_warranty_end()
    if set(CLAIM_FIELDS) & set(changed) and device.warranty_check != WarrantyCheck.CLAIMED:
        _reset_check(device)
    if set(WARRANTY_FIELDS) & set(changed):
        device.merchant_changed_warranty_at = now
    return verify_from_register(device)


def _locked(device: Device) -> Device:
    return (
        Device.objects.select_for_update(of=("self",))
        .select_related("model", "provider")
        .get(pk=device.pk)
    )


def _save(device: Device, user: User, reason: str) -> None:
    device._history_user = user  # the history's "who" outside a request, too
    device._change_reason = reason[:100]
    device.save()


def verify(
    device: Device,
    *,
    user: User,
    warranty_end: date | None,
    source: str,
    note: str = "",
) -> Device:
    """The provider stands behind the warranty: until `warranty_end` (which it may
    correct or extend), checked against `source`."""
    if not may_manage_warranty(user, device):
        raise WarrantyRefused(_("Only the terminal's provider or an admin can verify it."))
    if source not in WarrantySource.values:
        raise WarrantyRefused(_("Say what the warranty was checked against."))
    with transaction.atomic():
        d = _locked(device)
        end = warranty_end or d.warranty_end or d.default_warranty_end()
        if end is None:
            raise WarrantyRefused(_("Give the warranty end date."))
        if d.purchase_date and end < d.purchase_date:
            raise WarrantyRefused(_("The warranty cannot end before the purchase date."))
        d.warranty_end = end
        d.warranty_check = WarrantyCheck.VERIFIED
        d.warranty_checked_by = user
        d.warranty_checked_at = timezone.now()
        d.warranty_source = source
        d.warranty_check_note = note.strip()[:200]
        _save(d, user, "warranty verified")
        return d


def reject(device: Device, *, user: User, reason: str) -> Device:
    """The claim does not hold (the proof shows another date, another terminal...):
    repairs are paid until the merchant makes a new claim or the provider verifies."""
    if not may_manage_warranty(user, device):
        raise WarrantyRefused(_("Only the terminal's provider or an admin can reject it."))
    reason = (reason or "").strip()
    if not reason:
        raise WarrantyRefused(_("Say why the warranty claim is rejected."))
    with transaction.atomic():
        d = _locked(device)
        d.warranty_check = WarrantyCheck.REJECTED
        d.warranty_checked_by = user
        d.warranty_checked_at = timezone.now()
        d.warranty_source = ""
        d.warranty_check_note = reason[:200]
        _save(d, user, "warranty claim rejected")
        return d


def set_warranty(
    device: Device,
    *,
    user: User,
    warranty_end: date | None,
    void: bool,
    void_reason: str = "",
    source: str = WarrantySource.RECORDS,
) -> Device:
    """A technician or admin sets or extends the end date, or voids or lifts the void.
    What the provider sets is verified by definition."""
    if not may_manage_warranty(user, device):
        raise WarrantyRefused(_("Only the terminal's provider or an admin can change it."))
    void_reason = (void_reason or "").strip()
    if void and not void_reason:
        raise WarrantyRefused(_("Say why the warranty is void."))
    with transaction.atomic():
        d = _locked(device)
        if warranty_end is not None and d.purchase_date and warranty_end < d.purchase_date:
            raise WarrantyRefused(_("The warranty cannot end before the purchase date."))
        d.warranty_end = warranty_end
        if void and not d.warranty_void:
            d.warranty_voided_on = timezone.localdate()
        d.warranty_void = void
        d.warranty_void_reason = void_reason[:200] if void else ""
        if not void:
            d.warranty_voided_on = None
        now = timezone.now()
        d.warranty_check = WarrantyCheck.VERIFIED
        d.warranty_checked_by = user
        d.warranty_checked_at = now
        d.warranty_source = source
        d.warranty_check_note = ""
        _save(d, user, "warranty set by the provider")
        return d


def add_proof(
    device: Device,
    *,
    user: User,
    proof: UploadedFile,
    purchase_date: date | None,
) -> Device:
    """The merchant sends the proof of purchase (and the date on it) for a warranty
    the portal does not know or cannot check: a claim, for the provider to verify."""
    with atomic_with_uploads():
        d = _locked(device)
        old_name = d.proof_of_purchase.name or ""
        changed = []
        if purchase_date is not None and purchase_date != d.purchase_date:
            d.purchase_date = purchase_date
            changed.append("purchase_date")
        # New evidence is a new claim: the provider looks again (or its register
        # answers at once, in merchant_saved).
        _reset_check(d)
        merchant_saved(d, changed, creating=False)
        d.merchant_changed_warranty_at = timezone.now()
        d.proof_of_purchase.save(proof.name, proof, save=False)
        _save(d, user, "proof of purchase added")
        if old_name:
            delete_on_commit(d.proof_of_purchase, old_name)
        return d


def hold_for_review(
    *,
    merchant: Merchant,
    user: User | None,
    device_model: DeviceModel,
    serial_number: str,
    provider: Provider,
    acquirer: Provider | None = None,
    purchase_date: date | None = None,
    location: str = "",
) -> tuple[RegistrationReview, bool]:
    """Hold a new terminal whose serial another shop's terminal has, for an admin's check
    (see RegistrationReview). Returns (review, created): the same shop sending the same
    serial again while it waits gets the waiting one."""
    serial = normalise_serial(serial_number)
    waiting = RegistrationReview.objects.filter(
        merchant=merchant,
        brand_id=device_model.brand_id,
        serial_number=serial,
        status=RegistrationReview.Status.PENDING,
    )
    existing = waiting.first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            review = RegistrationReview.objects.create(
                merchant=merchant,
                submitted_by=user,
                model=device_model,
                serial_number=serial,
                purchase_date=purchase_date,
                provider=provider,
                acquirer=acquirer,
                location=location.strip(),
            )
    except IntegrityError:  # the same shop, twice at once: the first one waits
        return waiting.get(), False
    return review, True
