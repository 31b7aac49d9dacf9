"""The provider's side of a terminal: its warranty, the proof of purchase, the history.

Only technicians get here, and only for terminals their provider services: anything
else answers 404 (`terminal_for`). What a technician may change is the warranty
(devices.services): set or extend its end, void it or lift the void. What the merchant
declared stays theirs to edit on their own pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath
from typing import TYPE_CHECKING

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from devices import services
from devices.forms import WarrantySetForm
from devices.models import Device
from devices.warranty import WARRANTY_FIELDS
from portal.access import provider_for_user
from portal.models import User

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

HISTORY_SHOWN = 50


def terminal_for(request: HttpRequest, pk: int) -> Device:
    """A terminal the technician's provider services, or 404."""
    return terminal_for_user(request.user, pk)


def terminal_for_user(user: User | AnonymousUser, pk: int) -> Device:
    """The same for a user (the API's callers): one rule for both."""
    provider = provider_for_user(user)
    try:
        return Device.objects.select_related(
            "model__brand", "merchant", "provider", "acquirer", "warranty_checked_by"
        ).get(pk=pk, provider=provider)
    except Device.DoesNotExist:
        raise Http404 from None


@dataclass
class Change:
    """One save of the terminal that touched a warranty field: who, when, old → new."""

    when: datetime
    who: str
    role: str
    fields: list[tuple[str, str, str]]


def _shown(record: object, field: str) -> str:
    value = getattr(record, field, None)
    if field in {"model", "provider", "acquirer"}:
        related = getattr(record, f"{field}_id", None)
        return str(getattr(record, field)) if related else "—"
    if value in (None, ""):
        return "—"
    if isinstance(value, bool):
        return "✓" if value else "✗"
    # A choice is stored as its code ("claimed", "proof"): shown as its label, in the
    # reader's language.
    choices = Device._meta.get_field(field).flatchoices
    if choices:
        return str(dict(choices).get(value, value))
    return str(value)


def warranty_history(device: Device, limit: int = HISTORY_SHOWN) -> list[Change]:
    """The terminal's changes to the fields who-pays rests on, newest first."""
    records = list(
        device.history.select_related(
            "history_user", "model__brand", "provider", "acquirer"
        ).order_by("-history_date", "-history_id")[: limit + 1]
    )
    labels = {name: str(Device._meta.get_field(name).verbose_name) for name in WARRANTY_FIELDS}
    check_fields = ("warranty_check", "warranty_source", "warranty_check_note")
    labels.update({name: str(Device._meta.get_field(name).verbose_name) for name in check_fields})
    changes = []
    for newer, older in zip(records, [*records[1:], None], strict=False):
        if len(changes) == limit:
            break
        if older is None:
            fields = [
                (labels[name], "", _shown(newer, name))
                for name in (*WARRANTY_FIELDS, "warranty_check")
                if _shown(newer, name) != "—"
            ]
        else:
            fields = [
                (labels[name], _shown(older, name), _shown(newer, name))
                for name in (*WARRANTY_FIELDS, *check_fields)
                if _shown(older, name) != _shown(newer, name)
            ]
        if not fields:
            continue
        user = newer.history_user
        changes.append(
            Change(
                when=newer.history_date,
                who=(user.get_full_name() or user.get_username()) if user else "PosDesk",
                role=str(User.Role(user.role).label) if user else "",
                fields=fields,
            )
        )
    return changes


def _render(
    request: HttpRequest, device: Device, form: WarrantySetForm | None = None
) -> HttpResponse:
    form = form or WarrantySetForm(
        initial={
            "warranty_end": device.warranty_end,
            "void": device.warranty_void,
            "void_reason": device.warranty_void_reason,
        }
    )
    return render(
        request,
        "devices/work_detail.html",
        {
            "device": device,
            "form": form,
            "history": warranty_history(device),
            "tickets": device.tickets.filter(queue__provider=device.provider_id).order_by(
                "-created_at"
            )[:10],
        },
    )


@require_safe
@login_required
def terminal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render(request, terminal_for(request, pk))


@require_POST
@login_required
def terminal_warranty(request: HttpRequest, pk: int) -> HttpResponse:
    device = terminal_for(request, pk)
    form = WarrantySetForm(request.POST)
    if not form.is_valid():
        return _render(request, device, form)
    data = form.cleaned_data
    try:
        services.set_warranty(
            device,
            user=request.user,
            warranty_end=data["warranty_end"],
            void=data["void"],
            void_reason=data["void_reason"],
        )
    except services.WarrantyRefused as refused:
        form.add_error(None, str(refused))
        return _render(request, device, form)
    messages.success(request, _("The warranty is saved and marked verified by you."))
    return redirect("terminals:detail", pk=device.pk)


def proof_response(device: Device) -> FileResponse:
    """The proof of purchase as a download, for a caller that has checked the scope."""
    if not device.proof_of_purchase:
        raise Http404
    try:
        handle = device.proof_of_purchase.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    suffix = PurePath(device.proof_of_purchase.name).suffix
    response = FileResponse(
        handle, as_attachment=True, filename=f"proof-of-purchase-{device.serial_number}{suffix}"
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_safe
@login_required
def terminal_proof(request: HttpRequest, pk: int) -> FileResponse:
    return proof_response(terminal_for(request, pk))
