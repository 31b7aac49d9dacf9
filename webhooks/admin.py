"""Webhooks in the admin: every provider's endpoints and deliveries, to read. The secret
is never shown here (its managers saw it once); endpoints are kept by the managers."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from webhooks.models import Delivery, DeliveryAttempt, Endpoint


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Endpoint)
class EndpointAdmin(ReadOnly):
    list_display = ["url", "provider", "active", "created_at"]
    list_filter = ["active", "provider"]
    search_fields = ["url", "description", "provider__name"]
    exclude = ["secret"]


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    readonly_fields = ["at", "status_code", "duration_ms", "response", "error"]

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnly):
    list_display = ["created_at", "event", "endpoint", "status", "attempts", "last_status_code"]
    list_filter = ["status", "event"]
    search_fields = ["uuid", "endpoint__url", "source"]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-pk"]
    show_full_result_count = False
    inlines = [AttemptInline]
