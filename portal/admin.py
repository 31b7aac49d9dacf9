from __future__ import annotations

from functools import partial

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from devices.models import Membership
from portal.accounts import send_set_password_link
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


class UserCreationForm(AdminUserCreationForm):
    """Django's form, plus: e-mail the new user a link to choose their own password
    instead of typing one for them."""

    send_set_password_link = forms.BooleanField(
        label=_("E-mail a link to choose the password"),
        required=False,
        help_text=_(
            "Instead of typing a password here: the user chooses one from a link sent to "
            "their e-mail address (the password fields below are then left empty)."
        ),
    )

    class Meta(AdminUserCreationForm.Meta):
        fields = ("username", "email")

    def clean(self) -> dict:
        if self.cleaned_data.get("send_set_password_link"):
            # No password until the user chooses one: the fields below are not asked for.
            self.cleaned_data["usable_password"] = "false"
            if not self.cleaned_data.get("email"):
                self.add_error("email", _("Give the address the link is sent to."))
        return super().clean()


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
    add_form = UserCreationForm
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "username",
                    "email",
                    "send_set_password_link",
                    "usable_password",
                    "password1",
                    "password2",
                ),
            },
        ),
    )
    inlines = [UserMembershipInline]
    actions = ["send_set_password_links"]

    def save_model(self, request: HttpRequest, obj: User, form: forms.Form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change and form.cleaned_data.get("send_set_password_link"):
            # After the commit: a link to an account that was rolled back opens nothing.
            transaction.on_commit(partial(send_set_password_link, obj))
            self.message_user(
                request,
                _("A link to choose the password is sent to %(email)s.") % {"email": obj.email},
            )

    @admin.action(description=_("E-mail a link to choose a new password"))
    def send_set_password_links(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        sent = sum(send_set_password_link(user) for user in queryset)
        skipped = queryset.count() - sent
        self.message_user(
            request,
            ngettext(
                "A link to choose a new password was sent to %(count)d user.",
                "A link to choose a new password was sent to %(count)d users.",
                sent,
            )
            % {"count": sent},
        )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d user has no e-mail address or is inactive: nothing sent.",
                    "%(count)d users have no e-mail address or are inactive: nothing sent.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )

    @admin.display(description=_("member of"))
    def member_of(self, obj: User) -> str:
        # Read through the joined row (list_select_related), not User.role: one query per page.
        try:
            membership = obj.membership
        except ObjectDoesNotExist:
            return "—"
        return str(membership.merchant or membership.provider)
