"""The admin side of tickets: queues and their SLA targets, the routing table, every
ticket (with a re-route action for after the rules change), the self-help checks and
how often they fixed a fault."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from simple_history.admin import SimpleHistoryAdmin

from devices.models import Provider
from portal.models import User
from portal.validators import refuse_control_characters
from tickets import routing, workflow
from tickets.models import (
    WEEKDAYS,
    Advice,
    Attachment,
    BusinessCalendar,
    CannedReply,
    Holiday,
    Queue,
    Quote,
    RoutingRule,
    SelfHelpCheck,
    SelfHelpSuccess,
    Ticket,
    TicketEvent,
)
from tickets.pci import refuse_card_number

SLA_FIELDS = (
    ("first_response_p1", "first_response_p2", "first_response_p3"),
    ("resolution_p1", "resolution_p2", "resolution_p3"),
)


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 3


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(SimpleHistoryAdmin):
    list_display = ["name", "always_open", "queue_count"]
    search_fields = ["name"]
    inlines = [HolidayInline]
    fieldsets = [
        (None, {"fields": ["name", "always_open"]}),
        (
            _("Weekly hours"),
            {
                "fields": [(f"{code}_opens", f"{code}_closes") for code, _day in WEEKDAYS],
                "description": _(
                    "One span per day, opening before closing. Leave both empty on a closed "
                    "day. Times are in the portal's time zone."
                ),
            },
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[BusinessCalendar]:
        return super().get_queryset(request).annotate(_queues=Count("queues"))

    @admin.display(description=_("queues"), ordering="_queues")
    def queue_count(self, obj: BusinessCalendar) -> int:
        return obj._queues


@admin.register(Queue)
class QueueAdmin(SimpleHistoryAdmin):
    list_display = [
        "name",
        "provider",
        "kind",
        "active",
        "first_response_p1",
        "resolution_p1",
        "open_tickets",
    ]
    list_filter = ["provider", "kind", "active"]
    search_fields = ["name", "provider__name"]
    list_select_related = ["provider"]
    autocomplete_fields = ["provider"]
    fieldsets = [
        (None, {"fields": ["provider", "kind", "name", "active"]}),
        (
            _("Assignment"),
            {
                "fields": ["assignment", "p1_reassign_minutes"],
                "description": _(
                    "Automatic assignment gives each routed ticket to a technician of the "
                    "provider who is on duty (set on their membership)."
                ),
            },
        ),
        (
            _("SLA targets (minutes)"),
            {
                "fields": ["calendar", *SLA_FIELDS],
                "description": _(
                    "First response and resolution, for priorities P1, P2, P3: minutes of "
                    "the calendar's open hours, or of every hour without one."
                ),
            },
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Queue]:
        open_tickets = Count("tickets", filter=Q(tickets__status__in=routing.UNRESOLVED))
        return super().get_queryset(request).annotate(_open=open_tickets)

    @admin.display(description=_("open tickets"), ordering="_open")
    def open_tickets(self, obj: Queue) -> int:
        return obj._open


@admin.register(RoutingRule)
class RoutingRuleAdmin(SimpleHistoryAdmin):
    list_display = [
        "order",
        "name",
        "matches",
        "destination",
        "billable",
        "active",
    ]
    list_display_links = ["name"]
    list_editable = ["order", "active"]
    list_filter = ["active", "category", "warranty", "target_party", "target_kind"]
    search_fields = ["name"]
    list_select_related = ["provider"]
    autocomplete_fields = ["provider"]
    ordering = ["order", "id"]

    # One short column instead of two long ones: the list fits a laptop screen.
    PARTY_SHORT = {
        RoutingRule.Party.PROVIDER: _("provider"),
        RoutingRule.Party.ACQUIRER: _("acquirer"),
        RoutingRule.Party.PLATFORM: _("platform"),
    }

    @admin.display(description=_("matches"), ordering="category")
    def matches(self, rule: RoutingRule) -> str:
        return " · ".join(
            str(part)
            for part in (
                rule.get_category_display() if rule.category else _("any fault"),
                rule.get_warranty_display() if rule.warranty else _("any warranty"),
                rule.provider.name if rule.provider else _("any provider"),
            )
        )

    @admin.display(description=_("goes to"), ordering="target_kind")
    def destination(self, rule: RoutingRule) -> str:
        return f"{self.PARTY_SHORT[rule.target_party]}: {rule.get_target_kind_display()}"


class TicketEventInline(admin.TabularInline):
    """The timeline, as it happened: never edited or deleted from the admin."""

    model = TicketEvent
    fields = ["created_at", "kind", "actor", "public", "body"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["created_at", "id"]

    def has_add_permission(self, request: HttpRequest, obj: Ticket | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Ticket | None = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[TicketEvent]:
        return super().get_queryset(request).select_related("actor")


class AttachmentInline(admin.TabularInline):
    model = Attachment
    fields = ["original_name", "content_type", "size", "event", "uploaded_by", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Ticket | None = None) -> bool:
        return False


class QuoteInline(admin.TabularInline):
    model = Quote
    fields = ["amount", "covers", "status", "created_by", "created_at", "decided_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Ticket | None = None) -> bool:
        return False


class AdminAssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        label=_("Technician"),
        queryset=User.objects.filter(is_active=True, membership__provider__isnull=False)
        .select_related("membership__provider")
        .order_by("membership__provider__name", "username"),
        help_text=_("Only a technician of the ticket's queue's provider is accepted."),
    )


class AdminCancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Why PosDesk cancels it (the merchant reads this)"),
        max_length=200,
        validators=[refuse_card_number, refuse_control_characters],
    )


class AdminDuplicateForm(forms.Form):
    original = forms.CharField(label=_("Reference of the ticket that stays open"), max_length=16)

    def clean_original(self) -> Ticket:
        reference = self.cleaned_data["original"].strip().upper()
        original = Ticket.objects.filter(reference=reference).first()
        if original is None:
            raise forms.ValidationError(_("No ticket has this reference."))
        return original


def _workflow_admin_action(
    name: str, description: str, form_class: type[forms.Form], title: str, run: object
):  # noqa: ANN202 - an admin action function
    """An admin action that runs `run(ticket, admin, form data)` on each selected ticket,
    after an intermediate page asks for `form_class` (TicketAdmin._workflow_action)."""

    @admin.action(description=description)
    def action(model_admin: TicketAdmin, request: HttpRequest, queryset: QuerySet[Ticket]):  # noqa: ANN202
        return model_admin._workflow_action(
            request, queryset, form_class=form_class, title=title, run=run
        )

    action.__name__ = name
    return action


# Each one asks for what it needs, then goes through tickets/workflow.py.
WORKFLOW_ACTIONS = [
    _workflow_admin_action(
        "reassign_selected",
        _("Reassign selected tickets"),
        AdminAssignForm,
        _("Reassign tickets"),
        lambda t, user, data: workflow.admin_assign(t, user, data["assignee"]),
    ),
    _workflow_admin_action(
        "cancel_selected",
        _("Cancel selected tickets"),
        AdminCancelForm,
        _("Cancel tickets"),
        lambda t, user, data: workflow.admin_cancel(t, user, data["reason"]),
    ),
    _workflow_admin_action(
        "close_as_duplicate",
        _("Close selected tickets as duplicates"),
        AdminDuplicateForm,
        _("Close tickets as duplicates"),
        lambda t, user, data: workflow.close_duplicate(t, user, data["original"]),
    ),
]


# Changed only through the workflow (the actions below) or routing, never by editing
# the row: a direct edit would leave no event, no SLA update, and could pair a ticket
# with another merchant's terminal. A crafted POST for these fields is ignored.
WORKFLOW_FIELDS = [
    "merchant",
    "device",
    "reporter",
    "status",
    "queue",
    "assigned_to",
    "priority",
    "billable",
    "warranty_status",
    "warranty_end",
    "warranty_voided_on",
    "warranty_void_reason",
    "warranty_check",
    "warranty_check_note",
    "warranty_edited_at",
    "first_response_due",
    "resolution_due",
    "first_responded_at",
    "sla_paused_at",
    "first_response_breached_at",
    "resolution_breached_at",
    "resolved_at",
    "closed_at",
    "cancel_reason",
    "rating",
    "resolution_code",
]


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = [
        "reference",
        "merchant",
        "device",
        "status",
        "queue",
        "priority",
        "needs_admin",
        "routing_failed",
        "created_at",
    ]
    list_filter = [
        "needs_admin",
        "routing_failed",
        "status",
        "priority",
        "category",
        "warranty_status",
        "warranty_check",
        "billable",
        ("queue__provider", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["reference", "device__serial_number", "merchant__name"]
    list_select_related = ["merchant", "device__model__brand", "queue"]
    readonly_fields = [
        "reference",
        "submission_token",
        "created_at",
        "updated_at",
        "routed_at",
        "route_attempts",
        "routing_note",
        *WORKFLOW_FIELDS,
    ]
    date_hierarchy = "created_at"
    inlines = [TicketEventInline, AttachmentInline, QuoteInline]
    actions = ["reroute_selected", *WORKFLOW_ACTIONS]
    fieldsets = [
        (
            None,
            {"fields": ["reference", "merchant", "device", "reporter", "status", "created_at"]},
        ),
        (
            _("Routing"),
            {
                "fields": [
                    "queue",
                    "assigned_to",
                    "priority",
                    "billable",
                    "needs_admin",
                    "routing_failed",
                    "route_attempts",
                    "routed_at",
                    "routing_note",
                ],
                "description": _(
                    "Queue, assignee and status change only through the actions of the "
                    "ticket list (re-route, reassign, cancel, close as a duplicate), so "
                    "the timeline records each change and who made it."
                ),
            },
        ),
        (
            _("The fault"),
            {
                "fields": [
                    "category",
                    "symptom",
                    "error_code",
                    "can_take_payments",
                    "checks_tried",
                    "description",
                    "callback_phone",
                ]
            },
        ),
        (
            _("Warranty at filing"),
            {
                "fields": [
                    "warranty_status",
                    "warranty_end",
                    "warranty_voided_on",
                    "warranty_void_reason",
                    "warranty_check",
                    "warranty_check_note",
                    "warranty_edited_at",
                ]
            },
        ),
        (
            _("Transaction"),
            {
                "classes": ["collapse"],
                "fields": [
                    "txn_time",
                    "txn_amount",
                    "card_last4",
                    "txn_response_code",
                    "txn_reference",
                ],
            },
        ),
        (
            _("SLA"),
            {
                "classes": ["collapse"],
                "fields": [
                    "first_response_due",
                    "resolution_due",
                    "first_responded_at",
                    "sla_paused_at",
                    "first_response_breached_at",
                    "resolution_breached_at",
                ],
            },
        ),
        (
            _("The end"),
            {
                "classes": ["collapse"],
                "fields": [
                    "resolution_code",
                    "resolution_note",
                    "resolved_at",
                    "closed_at",
                    "cancel_reason",
                    "rating",
                    "rating_comment",
                    "submission_token",
                    "updated_at",
                ],
            },
        ),
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A ticket is filed by a merchant (services.file_ticket), never typed in here.
        return False

    @admin.action(description=_("Re-route selected tickets"))
    def reroute_selected(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        """Evaluate today's rules again for each unresolved ticket; each gets an event."""
        done = skipped = 0
        for ticket_id in queryset.values_list("pk", flat=True):
            if routing.reroute(ticket_id, request.user) is None:
                skipped += 1
            else:
                done += 1
        if done:
            self.message_user(
                request,
                ngettext("%(n)d ticket re-routed.", "%(n)d tickets re-routed.", done) % {"n": done},
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(n)d ticket is resolved, closed or cancelled and was left alone.",
                    "%(n)d tickets are resolved, closed or cancelled and were left alone.",
                    skipped,
                )
                % {"n": skipped},
                messages.WARNING,
            )

    def _workflow_action(
        self,
        request: HttpRequest,
        queryset: QuerySet[Ticket],
        *,
        form_class: type[forms.Form],
        title: str,
        run: object,
    ) -> HttpResponse | None:
        """An admin action that asks for one form first (an intermediate page), then runs
        a workflow function on each selected ticket; refusals are reported, not raised."""
        form = form_class(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return TemplateResponse(
                request,
                "admin/tickets/ticket/workflow_action.html",
                {
                    **self.admin_site.each_context(request),
                    "title": title,
                    "form": form,
                    "tickets": queryset,
                    "action": request.POST.get("action", ""),
                    "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
                    "checkbox_name": ACTION_CHECKBOX_NAME,
                    "opts": self.model._meta,
                },
            )
        done, refused = 0, []
        for ticket in queryset.select_related("queue"):
            try:
                run(ticket, request.user, form.cleaned_data)  # type: ignore[operator]
            except workflow.NotAllowed as refusal:
                refused.append(f"{ticket.reference}: {refusal}")
            else:
                done += 1
        if done:
            self.message_user(
                request,
                ngettext("%(n)d ticket done.", "%(n)d tickets done.", done) % {"n": done},
                messages.SUCCESS,
            )
        for message in refused:
            self.message_user(request, message, messages.WARNING)
        return None


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    """Providers' managers keep them in the workspace; admins can help out here."""

    list_display = ["title", "provider", "updated_at", "updated_by"]
    list_filter = [("provider", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["title", "body", "body_zh_hans", "provider__name"]
    list_select_related = ["provider", "updated_by"]
    autocomplete_fields = ["provider"]

    def save_model(self, request: HttpRequest, obj: CannedReply, form, change: bool) -> None:  # noqa: ANN001
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(SelfHelpCheck)
class SelfHelpCheckAdmin(admin.ModelAdmin):
    list_display = ["text", "category", "code", "order", "active"]
    list_editable = ["order", "active"]
    list_filter = ["category", "active"]
    search_fields = ["text", "code", "help_text"]
    ordering = ["category", "order", "id"]
    prepopulated_fields = {"code": ["text"]}


@admin.register(Advice)
class AdviceAdmin(admin.ModelAdmin):
    list_display = ["text", "category", "order", "active"]
    list_editable = ["order", "active"]
    list_filter = ["category", "active"]
    search_fields = ["text", "text_zh_hans"]


@admin.register(SelfHelpSuccess)
class SelfHelpSuccessAdmin(admin.ModelAdmin):
    """Faults fixed by a first-line check, with how many per category (read-only)."""

    list_display = ["created_at", "category", "category_total", "merchant", "device", "checks"]
    list_filter = ["category", "created_at"]
    search_fields = ["merchant__name", "device__serial_number"]
    list_select_related = ["merchant", "device__model__brand"]
    date_hierarchy = "created_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[SelfHelpSuccess]:
        per_category = (
            SelfHelpSuccess.objects.filter(category=OuterRef("category"))
            .order_by()
            .values("category")
            .annotate(n=Count("id"))
            .values("n")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(_category_total=Subquery(per_category, output_field=IntegerField()))
        )

    @admin.display(description=_("fixed in this category"), ordering="_category_total")
    def category_total(self, obj: SelfHelpSuccess) -> int:
        return obj._category_total

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ["original_name", "ticket", "content_type", "size", "created_at"]
    list_filter = ["content_type"]
    search_fields = ["original_name", "ticket__reference"]
    list_select_related = ["ticket"]
    exclude = ["file"]
    readonly_fields = [
        "ticket",
        "event",
        "original_name",
        "content_type",
        "size",
        "uploaded_by",
        "created_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class QueueInline(admin.TabularInline):
    model = Queue
    fields = ["name", "kind", "active", "first_response_p1", "resolution_p1"]
    extra = 0
    show_change_link = True


# The provider page lists its queues: extend the devices app's ProviderAdmin, if there is one.
if admin.site.is_registered(Provider):
    _ProviderAdmin = type(admin.site.get_model_admin(Provider))

    class ProviderWithQueuesAdmin(_ProviderAdmin):
        inlines = [*_ProviderAdmin.inlines, QueueInline]

    admin.site.unregister(Provider)
    admin.site.register(Provider, ProviderWithQueuesAdmin)
