"""The merchant's terminal pages: list, register, edit, detail, proof of purchase, CSV import.

Only merchant users have these pages. Every device is fetched through `device_for`,
which answers 404 for anything outside the user's merchant; technicians, users with
no role and staff (who use the admin) get 404 too.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import IntegrityError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_safe

from devices import importer, services
from devices.forms import DeviceForm, DeviceSearchForm, ImportUploadForm, serial_owner
from devices.models import Device, Merchant, RegistrationReview
from devices.views_work import proof_response
from portal.access import merchant_for_user, merchant_of
from portal.storage import StorageFailed, atomic_with_uploads, delete_on_commit

PAGE_SIZE = 25
if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from portal.models import User

TICKETS_ON_DETAIL = 20
# Registrations waiting for an admin's check, listed above the terminals.
WAITING_SHOWN = 50
IMPORT_SESSION_KEY = "devices.import"


def device_for(request: HttpRequest, pk: int) -> Device:
    """The one way these views fetch a device: the user's merchant's own, or 404."""
    return device_for_user(request.user, pk)


def device_for_user(user: User | AnonymousUser, pk: int) -> Device:
    """The same for a user (the API's callers): one rule for both."""
    merchant = merchant_for_user(user)
    try:
        return (
            Device.objects.visible_to(user)
            .select_related("model__brand", "provider", "acquirer", "merchant")
            .get(pk=pk, merchant=merchant)
        )
    except Device.DoesNotExist:
        raise Http404 from None


@require_safe
@login_required
def device_list(request: HttpRequest) -> HttpResponse:
    merchant = merchant_of(request)
    devices = (
        Device.objects.visible_to(request.user)
        .filter(merchant=merchant)
        .select_related("model__brand")
        .order_by("-created_at", "-id")
    )
    search = DeviceSearchForm(request.GET)
    query = search.query()
    if query:
        devices = devices.filter(serial_number__icontains=query)
    page = Paginator(devices, PAGE_SIZE).get_page(request.GET.get("page"))
    waiting = (
        RegistrationReview.objects.filter(
            merchant=merchant, status=RegistrationReview.Status.PENDING
        )
        .select_related("model__brand")
        .order_by("-created_at", "-id")
    )
    return render(
        request,
        "devices/list.html",
        {
            "page": page,
            "query": query,
            "search": search,
            "merchant": merchant,
            "waiting": list(waiting[:WAITING_SHOWN]),
        },
    )


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def device_create(request: HttpRequest) -> HttpResponse:
    merchant = merchant_of(request)
    device = Device(merchant=merchant)
    form = DeviceForm(request.POST or None, request.FILES or None, instance=device)
    if request.method == "POST" and form.is_valid():
        saved = None if form.held_for_review else _save(form)
        if saved is not None:
            messages.success(
                request, _("Terminal %(serial)s registered.") % {"serial": saved.serial_number}
            )
            return redirect("devices:detail", pk=saved.pk)
        if form.held_for_review:
            return _hold_for_review(request, form)
    return render(request, "devices/form.html", {"form": form, "device": None})


def _hold_for_review(request: HttpRequest, form: DeviceForm) -> HttpResponse:
    """Another shop's terminal has this serial: the registration waits for an admin, and
    the shop is told only that it needs a check (devices.models.RegistrationReview)."""
    data = form.cleaned_data
    review, created = services.hold_for_review(
        merchant=form.instance.merchant,
        user=request.user,
        device_model=data["model"],
        serial_number=data["serial_number"],
        provider=data["provider"],
        acquirer=data.get("acquirer"),
        purchase_date=data.get("purchase_date"),
        location=data.get("location") or "",
    )
    if created:
        message = _(
            "Terminal %(serial)s needs a check by the PosDesk team before it is listed. "
            "We will contact you; keep the receipt at hand."
        )
    else:
        message = _("Terminal %(serial)s is already waiting for a check by the PosDesk team.")
    messages.info(request, message % {"serial": review.serial_number})
    return redirect("devices:list")


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def device_edit(request: HttpRequest, pk: int) -> HttpResponse:
    device = device_for(request, pk)
    old_proof = device.proof_of_purchase.name or ""
    form = DeviceForm(request.POST or None, request.FILES or None, instance=device)
    if request.method == "POST" and form.is_valid():
        saved = _save(form)
        if saved is not None:
            if old_proof and old_proof != (saved.proof_of_purchase.name or ""):
                # Replaced or cleared: the old file must not linger on disk unreferenced.
                delete_on_commit(saved.proof_of_purchase, old_proof)
            messages.success(
                request, _("Terminal %(serial)s saved.") % {"serial": saved.serial_number}
            )
            return redirect("devices:detail", pk=saved.pk)
    return render(request, "devices/form.html", {"form": form, "device": device})


def _save(form: DeviceForm) -> Device | None:
    """Save, or put the message at the field: the serial when a parallel save took it,
    the proof when it could not be stored (a full disk). The proof's file goes again
    when the save does not commit."""
    try:
        with atomic_with_uploads():
            return form.save()
    except StorageFailed as failure:
        form.add_error("proof_of_purchase", str(failure))
        return None
    except IntegrityError:
        device = form.instance
        owner = serial_owner(
            brand_id=device.model.brand_id, serial=device.serial_number, exclude_pk=device.pk
        )
        if owner is None:
            raise
        form.serial_taken_by(owner)
        return None


@require_safe
@login_required
def device_detail(request: HttpRequest, pk: int) -> HttpResponse:
    device = device_for(request, pk)
    tickets = device.tickets.order_by("-created_at", "-id")[:TICKETS_ON_DETAIL]
    return render(request, "devices/detail.html", {"device": device, "tickets": tickets})


@require_safe
@login_required
def device_proof(request: HttpRequest, pk: int) -> FileResponse:
    return proof_response(device_for(request, pk))


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def device_import(request: HttpRequest) -> HttpResponse:
    """Step 1 (POST with a file): check every row and show them all. Step 2 (POST
    `confirm` with the file's digest): import every row in one transaction.

    Between the steps the file's text waits in the session (capped by the importer's
    size limits), never in a path the client could name.
    """
    merchant = merchant_of(request)
    if request.method == "POST" and "confirm" in request.POST:
        return _import_confirm(request, merchant)
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        text = form.cleaned_data["file"]
        preview = importer.check_csv(text, merchant=merchant)
        digest = hashlib.sha256(text.encode()).hexdigest()
        if preview.is_valid:
            request.session[IMPORT_SESSION_KEY] = {
                "merchant": merchant.pk,
                "digest": digest,
                "text": text,
            }
        else:
            request.session.pop(IMPORT_SESSION_KEY, None)
        return render(
            request,
            "devices/import_preview.html",
            {"preview": preview, "digest": digest, "filename": request.FILES["file"].name},
        )
    header = importer.LAYOUT.header()  # in the reader's language, as the import reads it
    return render(request, "devices/import.html", {"form": form, "header": header})


def _import_confirm(request: HttpRequest, merchant: Merchant) -> HttpResponse:
    pending = request.session.get(IMPORT_SESSION_KEY)
    if (
        not isinstance(pending, dict)
        or pending.get("merchant") != merchant.pk
        or pending.get("digest") != request.POST.get("digest")
    ):
        messages.error(
            request, _("That file is no longer waiting to be imported. Upload it again.")
        )
        return redirect("devices:import")
    result = importer.import_terminals(pending["text"], merchant=merchant, user=request.user)
    if not result.imported:
        # The database changed since the preview (e.g. a serial was registered meanwhile).
        request.session.pop(IMPORT_SESSION_KEY, None)
        return render(
            request,
            "devices/import_preview.html",
            {"preview": result.preview, "digest": pending["digest"], "filename": ""},
        )
    request.session.pop(IMPORT_SESSION_KEY, None)
    count = len(result.devices)
    if count:
        messages.success(
            request,
            ngettext("%(count)d terminal imported.", "%(count)d terminals imported.", count)
            % {"count": count},
        )
    if result.held:
        held = len(result.held)
        messages.info(
            request,
            ngettext(
                "%(count)d terminal needs a check by the PosDesk team before it is listed. "
                "We will contact you.",
                "%(count)d terminals need a check by the PosDesk team before they are "
                "listed. We will contact you.",
                held,
            )
            % {"count": held},
        )
    return redirect("devices:list")
