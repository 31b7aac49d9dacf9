"""The outbox in the admin: every e-mail and its delivery, failed ones called out on
top, with "retry now" and "send again". Rows are never edited or deleted here: they
are the record of what PosDesk told whom."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from mail import services
from mail.models import OutboundEmail


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "status_display",
        "recipient",
        "subject",
        "kind",
        "attempts",
        "next_attempt_at",
        "sent_at",
    ]
    list_filter = ["status", "kind", "language", "created_at"]
    search_fields = ["recipient", "subject", "idempotency_key", "message_id"]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-pk"]
    list_per_page = 50
    show_full_result_count = False  # a count of every e-mail ever sent is slow and useless
    actions = ["retry_now", "send_again"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "status",
                    "recipient",
                    "reply_to",
                    "user",
                    "subject",
                    "kind",
                    "event",
                    "language",
                ]
            },
        ),
        (
            _("Delivery"),
            {
                "fields": [
                    "attempts",
                    "last_error",
                    "first_failure_at",
                    "next_attempt_at",
                    "sent_at",
                    "created_at",
                    "idempotency_key",
                    "message_id",
                    "resent_from",
                ]
            },
        ),
        (_("Content"), {"fields": ["text", "html"]}),
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: OutboundEmail | None = None) -> list:
        return [f.name for f in OutboundEmail._meta.fields if f.name != "claim"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: OutboundEmail | None = None) -> bool:
        return False

    @admin.display(description=_("status"), ordering="status")
    def status_display(self, obj: OutboundEmail) -> str:
        if obj.status == OutboundEmail.Status.FAILED:
            return format_html("<strong>⚠ {}</strong>", obj.get_status_display())
        return obj.get_status_display()

    def changelist_view(
        self, request: HttpRequest, extra_context: dict | None = None
    ) -> HttpResponse:
        # Failed e-mails need a person: say so on top of every page of the list.
        failed = OutboundEmail.objects.filter(status=OutboundEmail.Status.FAILED).count()
        if failed and request.GET.get("status__exact") != OutboundEmail.Status.FAILED:
            link = reverse("admin:mail_outboundemail_changelist") + "?status__exact=failed"
            self.message_user(
                request,
                format_html(
                    '{} <a href="{}">{}</a>',
                    ngettext(
                        "%(count)d e-mail could not be delivered.",
                        "%(count)d e-mails could not be delivered.",
                        failed,
                    )
                    % {"count": failed},
                    link,
                    _("Show them"),
                ),
                messages.WARNING,
            )
        return super().changelist_view(request, extra_context)

    @admin.action(description=_("Retry now (waiting or failed e-mails)"))
    def retry_now(self, request: HttpRequest, queryset: QuerySet[OutboundEmail]) -> None:
        count = services.retry_now(queryset)
        self.message_user(
            request,
            ngettext(
                "%(count)d e-mail will be sent again now.",
                "%(count)d e-mails will be sent again now.",
                count,
            )
            % {"count": count},
            messages.SUCCESS if count else messages.WARNING,
        )

    @admin.action(description=_("Send again as a new e-mail (sent e-mails)"))
    def send_again(self, request: HttpRequest, queryset: QuerySet[OutboundEmail]) -> None:
        count = services.send_again(queryset)
        self.message_user(
            request,
            ngettext(
                "%(count)d copy of a sent e-mail will be sent.",
                "%(count)d copies of sent e-mails will be sent.",
                count,
            )
            % {"count": count},
            messages.SUCCESS if count else messages.WARNING,
        )
