"""Terminals: a merchant's list, registration (one or many) and edits; a technician reads
the terminals its provider services.

Registration and edits are the web's form (devices.forms.DeviceForm) and save
(devices.views._save): the warranty rules hold as on the pages. The merchant claims a
warranty (purchase date, proof); the end date follows from it and only the provider or
an admin sets, extends or voids it, so those fields are refused here by name.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.forms.models import model_to_dict
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from api.formfields import serializer_for
from api.problems import form_invalid
from api.schema import paged
from api.serializers import DeviceSerializer, HeldSerializer, IncidentSerializer
from api.views.common import NewestFirst, form_data
from devices import services as device_services
from devices.forms import DeviceForm
from devices.models import Device
from devices.views import _save, device_for_user
from devices.views_work import terminal_for_user
from outages.services import incidents_for
from portal.access import merchant_for_user, provider_for_user
from tickets.models import Category

# What only the provider or an admin changes (devices.services): named, never ignored.
PROVIDER_ONLY = frozenset(
    {
        "warranty_end",
        "warranty_void",
        "warranty_void_reason",
        "warranty_voided_on",
        "warranty_check",
        "warranty_checked_by",
        "warranty_checked_at",
        "warranty_source",
        "warranty_check_note",
    }
)
BULK_MAX = 100

TerminalRequest = serializer_for(DeviceForm, "TerminalRequest", ("proof_of_purchase",))


def _refuse_provider_fields(data: Any, prefix: str = "") -> None:
    named = sorted(PROVIDER_ONLY & set(data))
    if named:
        message = gettext(
            "Only the terminal's provider sets or voids its warranty: send the purchase "
            "date and the proof of purchase instead."
        )
        raise ValidationError(
            {
                f"{prefix}{name}": [serializers.ErrorDetail(message, code="provider_only")]
                for name in named
            }
        )


def terminal_for_caller(user: Any, pk: int) -> Device:
    """A merchant's own terminal, or one the technician's provider services; else 404."""
    if user.is_authenticated and user.merchant is not None:
        return device_for_user(user, pk)
    return terminal_for_user(user, pk)


def _register(merchant: Any, user: Any, data: Any, files: Any) -> tuple[DeviceForm, Any]:
    """(form, saved device or held review or None): the web's registration."""
    form = DeviceForm(data, files, instance=Device(merchant=merchant))
    if not form.is_valid():
        return form, None
    if form.held_for_review:
        cleaned = form.cleaned_data
        review, _created = device_services.hold_for_review(
            merchant=merchant,
            user=user,
            device_model=cleaned["model"],
            serial_number=cleaned["serial_number"],
            provider=cleaned["provider"],
            acquirer=cleaned.get("acquirer"),
            purchase_date=cleaned.get("purchase_date"),
            location=cleaned.get("location") or "",
        )
        return form, review
    return form, _save(form)


def _created(result: Any) -> dict[str, Any]:
    if isinstance(result, Device):
        return DeviceSerializer(result).data
    return {"serial_number": result.serial_number, "status": result.status, "held": True}


class TerminalListView(GenericAPIView):
    pagination_class = NewestFirst
    serializer_class = DeviceSerializer

    @extend_schema(operation_id="terminals_list", responses=paged("TerminalPage", DeviceSerializer))
    def get(self, request: Request) -> Response:
        """A merchant's terminals, or those the technician's provider services."""
        user = request.user
        if user.is_authenticated and user.merchant is not None:
            devices = Device.objects.visible_to(user).filter(merchant=merchant_for_user(user))
        else:
            devices = Device.objects.filter(provider=provider_for_user(user))
        page = self.paginate_queryset(devices.select_related("model__brand"))
        return self.get_paginated_response(DeviceSerializer(page, many=True).data)

    @extend_schema(
        request=TerminalRequest,
        responses={201: DeviceSerializer, 202: HeldSerializer},
        description=(
            "Register a terminal (merchants). 202: another shop has this serial, and the "
            "registration waits for a check by the PosDesk team."
        ),
    )
    def post(self, request: Request) -> Response:
        merchant = merchant_for_user(request.user)
        data = form_data(request)
        _refuse_provider_fields(data)
        form, result = _register(merchant, request.user, data, request.FILES)
        if result is None:
            raise form_invalid(form)
        code = status.HTTP_201_CREATED if isinstance(result, Device) else status.HTTP_202_ACCEPTED
        return Response(_created(result), status=code)


class TerminalBulkView(GenericAPIView):
    serializer_class = DeviceSerializer

    @extend_schema(
        request=inline_serializer("TerminalBulkRequest", {"terminals": TerminalRequest(many=True)}),
        responses={
            201: inline_serializer(
                "TerminalBulkResult",
                {"created": DeviceSerializer(many=True), "held": HeldSerializer(many=True)},
            )
        },
        description=(
            f"Register up to {BULK_MAX} terminals at once, all or none: one invalid entry "
            "and nothing is registered; its errors are named `terminals[n].field`."
        ),
    )
    def post(self, request: Request) -> Response:
        merchant = merchant_for_user(request.user)
        rows = request.data.get("terminals") if isinstance(request.data, dict) else None
        if not isinstance(rows, list) or not rows or len(rows) > BULK_MAX:
            message = gettext("Send a list “terminals” of 1 to %(max)d terminals.") % {
                "max": BULK_MAX
            }
            raise ValidationError({"terminals": [serializers.ErrorDetail(message, "invalid")]})
        errors: dict[str, Any] = {}
        created, held = [], []
        with transaction.atomic():
            for n, row in enumerate(rows):
                if not isinstance(row, dict):
                    errors[f"terminals[{n}]"] = [gettext("Each terminal is an object.")]
                    continue
                try:
                    _refuse_provider_fields(row, f"terminals[{n}].")
                except ValidationError as refused:
                    errors.update(refused.detail)
                    continue
                row = {key: ("" if value is None else value) for key, value in row.items()}
                # Each row is saved before the next is checked: a serial twice in one
                # list is caught as the duplicate it is.
                form, result = _register(merchant, request.user, row, None)
                if result is None:
                    for field, errs in form_invalid(form).detail.items():
                        errors[f"terminals[{n}].{field}"] = errs
                elif isinstance(result, Device):
                    created.append(result)
                else:
                    held.append(result)
            if errors:
                transaction.set_rollback(True)
        if errors:
            raise ValidationError(errors)
        return Response(
            {
                "created": DeviceSerializer(created, many=True).data,
                "held": [_created(review) for review in held],
            },
            status=status.HTTP_201_CREATED,
        )


class TerminalDetailView(GenericAPIView):
    serializer_class = DeviceSerializer

    def get(self, request: Request, pk: int) -> Response:
        return Response(DeviceSerializer(terminal_for_caller(request.user, pk)).data)

    @extend_schema(request=TerminalRequest, responses=DeviceSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        """Change what the merchant declared; what is not sent stays as it is."""
        device = device_for_user(request.user, pk)
        data = form_data(request)
        _refuse_provider_fields(data)
        current = model_to_dict(device, fields=DeviceForm._meta.fields)
        current.pop("proof_of_purchase", None)
        merged = {key: ("" if value is None else value) for key, value in current.items()}
        merged.update(data)
        form = DeviceForm(merged, request.FILES, instance=device)
        if not form.is_valid():
            raise form_invalid(form)
        saved = _save(form)
        if saved is None:
            raise form_invalid(form)
        return Response(DeviceSerializer(saved).data)


class TerminalIncidentsView(GenericAPIView):
    serializer_class = IncidentSerializer

    @extend_schema(
        parameters=[OpenApiParameter("category", str, enum=Category.values, required=True)],
        responses=IncidentSerializer(many=True),
    )
    def get(self, request: Request, pk: int) -> Response:
        """Open incidents that cover this terminal for a kind of fault
        (outages.services.incidents_for)."""
        device = terminal_for_caller(request.user, pk)
        category = request.query_params.get("category", "")
        if category not in Category.values:
            message = gettext("Choose one of: %(kinds)s.") % {"kinds": ", ".join(Category.values)}
            raise ValidationError(
                {"category": [serializers.ErrorDetail(message, "invalid_choice")]}
            )
        return Response(IncidentSerializer(incidents_for(device, category), many=True).data)
