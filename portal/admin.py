from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import ObjectDoesNotExist
from django.utils.translation import gettext_lazy as _

from devices.models import Membership
from portal.models import User

admin.site.site_header = _("PosDesk administration")
admin.site.site_title = _("PosDesk admin")
admin.site.index_title = _("Providers, queues, routing rules and tickets")


class UserMembershipInline(admin.StackedInline):
    model = Membership
    can_delete = True
    extra = 0
    max_num = 1
    autocomplete_fields = ["merchant", "provider"]
    verbose_name = _("membership (one merchant or one provider)")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = (
        "username",
        "email",
        "first_name",
        "last_name",
        "member_of",
        "is_staff",
        "is_active",
    )
    list_filter = (*BaseUserAdmin.list_filter, "membership__provider", "membership__merchant")
    list_select_related = ("membership__merchant", "membership__provider")
    fieldsets = (*BaseUserAdmin.fieldsets, (None, {"fields": ("phone",)}))
    inlines = [UserMembershipInline]

    @admin.display(description=_("member of"))
    def member_of(self, obj: User) -> str:
        # Read through the joined row (list_select_related), not User.role: one query per page.
        try:
            membership = obj.membership
        except ObjectDoesNotExist:
            return "—"
        return str(membership.merchant or membership.provider)
