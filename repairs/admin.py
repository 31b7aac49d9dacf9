from django.contrib import admin
from django.http import HttpRequest

from repairs.models import Repair


@admin.register(Repair)
class RepairAdmin(admin.ModelAdmin):
    """Read only: each step is the technician's or the shop's, with its event on the
    ticket's timeline; editing a field here would change the story without one."""

    list_display = ("ticket", "method", "step", "step_at", "created_by")
    list_filter = ("method", "step")
    search_fields = ("ticket__reference", "tracking_in", "tracking_out", "replacement_serial")
    list_select_related = ("ticket", "created_by")
    raw_id_fields = ("ticket", "created_by")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Repair | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Repair | None = None) -> bool:
        return False
