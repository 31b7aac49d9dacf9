"""What the API answers: plain read-only serializers over the models.

Requests are validated by the web's own forms (api.formfields documents them); nothing
here writes.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from devices.models import Device
from outages.models import Incident
from tickets.models import Queue, Ticket, TicketEvent


def _person(user: Any) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


class DeviceSerializer(serializers.ModelSerializer):
    brand = serializers.CharField(source="model.brand.name", read_only=True)
    model_name = serializers.CharField(source="model.name", read_only=True)
    warranty = serializers.SerializerMethodField()

    class Meta:
        model = Device
        fields = [
            "id",
            "serial_number",
            "model",
            "model_name",
            "brand",
            "status",
            "location",
            "purchase_date",
            "provider",
            "acquirer",
            "warranty_end",
            "warranty_void",
            "warranty_check",
            "warranty",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=["in", "out", "unknown"]))
    def get_warranty(self, device: Device) -> str:
        return str(device.warranty_status())


class HeldSerializer(serializers.Serializer):
    """A registration held for a check by the PosDesk team (another shop has the serial)."""

    serial_number = serializers.CharField()
    status = serializers.CharField()
    held = serializers.BooleanField(default=True)


class QueueSerializer(serializers.ModelSerializer):
    open_tickets = serializers.IntegerField(read_only=True)

    class Meta:
        model = Queue
        fields = ["id", "name", "kind", "active", "open_tickets"]
        read_only_fields = fields


class TicketListSerializer(serializers.ModelSerializer):
    merchant = serializers.CharField(source="merchant.name", read_only=True)
    device = serializers.IntegerField(source="device_id", read_only=True)
    serial_number = serializers.CharField(source="device.serial_number", read_only=True)
    queue = serializers.IntegerField(source="queue_id", read_only=True, allow_null=True)
    assigned_to = serializers.SerializerMethodField()

    class Meta:
        model = Ticket
        fields = [
            "reference",
            "status",
            "category",
            "symptom",
            "priority",
            "warranty_status",
            "billable",
            "merchant",
            "device",
            "serial_number",
            "queue",
            "assigned_to",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_assigned_to(self, ticket: Ticket) -> str:
        return _person(ticket.assigned_to) if ticket.assigned_to_id else ""


def list_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """TicketListSerializer's output for a page of `LIST_VALUES` rows, built directly: the
    serializer's field machinery, and a model instance per row and join, were a fifth
    of W8's time for 25 rows (a test keeps both outputs equal)."""
    to_iso = serializers.DateTimeField().to_representation
    return [
        {
            "reference": row["reference"],
            "status": row["status"],
            "category": row["category"],
            "symptom": row["symptom"],
            "priority": row["priority"],
            "warranty_status": row["warranty_status"],
            "billable": row["billable"],
            "merchant": row["merchant__name"],
            "device": row["device_id"],
            "serial_number": row["device__serial_number"],
            "queue": row["queue_id"],
            # As User.get_full_name() or the username; "" when nobody has the ticket.
            "assigned_to": (
                (
                    f"{row['assigned_to__first_name']} {row['assigned_to__last_name']}".strip()
                    or row["assigned_to__username"]
                )
                if row["assigned_to_id"]
                else ""
            ),
            "created_at": to_iso(row["created_at"]),
            "updated_at": to_iso(row["updated_at"]),
        }
        for row in rows
    ]


# The columns a list row reads, as values (list_rows): a ticket has dozens. "id" orders
# the cursor.
LIST_VALUES = (
    "id",
    "assigned_to_id",
    "reference",
    "status",
    "category",
    "symptom",
    "priority",
    "warranty_status",
    "billable",
    "created_at",
    "updated_at",
    "device_id",
    "queue_id",
    "merchant__name",
    "device__serial_number",
    "assigned_to__username",
    "assigned_to__first_name",
    "assigned_to__last_name",
)


class EventSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()
    text = serializers.CharField(read_only=True)

    class Meta:
        model = TicketEvent
        fields = ["kind", "created_at", "actor", "public", "text", "body", "data"]
        read_only_fields = fields

    def get_actor(self, event: TicketEvent) -> str:
        return _person(event.actor)


class QuoteSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    covers = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()


class TicketDetailSerializer(TicketListSerializer):
    timeline = serializers.SerializerMethodField()
    quotes = serializers.SerializerMethodField()
    actions = serializers.SerializerMethodField()

    class Meta(TicketListSerializer.Meta):
        fields = [
            *TicketListSerializer.Meta.fields,
            "error_code",
            "can_take_payments",
            "checks_tried",
            "description",
            "callback_phone",
            "warranty_end",
            "resolution_code",
            "resolution_note",
            "resolved_at",
            "closed_at",
            "rating",
            "first_response_due",
            "resolution_due",
            "timeline",
            "quotes",
            "actions",
        ]
        read_only_fields = fields

    @extend_schema_field(EventSerializer(many=True))
    def get_timeline(self, ticket: Ticket) -> list[dict[str, Any]]:
        return EventSerializer(self.context["events"], many=True).data

    @extend_schema_field(QuoteSerializer(many=True))
    def get_quotes(self, ticket: Ticket) -> list[dict[str, Any]]:
        return QuoteSerializer(self.context["quotes"], many=True).data

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_actions(self, ticket: Ticket) -> list[str]:
        """The API actions the caller may take now (their paths under the ticket)."""
        return sorted(self.context["actions"])


class FiledSerializer(serializers.Serializer):
    reference = serializers.CharField()
    created = serializers.BooleanField()
    url = serializers.CharField()


class IncidentSerializer(serializers.ModelSerializer):
    provider = serializers.CharField(source="provider.name", read_only=True)

    class Meta:
        model = Incident
        fields = [
            "id",
            "provider",
            "status",
            "category",
            "city",
            "district",
            "summary",
            "starts_at",
            "ends_at",
        ]
        read_only_fields = fields
