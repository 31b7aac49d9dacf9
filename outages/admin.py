"""The admin side of outages: incidents (declared through `services.declare`, resolved
through `services.resolve`, so tickets are linked and told as from the technician's
pages), and downtime and offline sales to read, never to edit."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from outages import services
from outages.forms_work import SymptomsField, check_declaration, validate_incident_time
from outages.models import Downtime, Incident, IncidentTicket, IncidentUpdate, OfflineSale

LINKED_SHOWN = 20
TIME_FIELDS = ("starts_at", "ends_at", "next_update_at")


class IncidentAdminForm(forms.ModelForm):
    symptoms = SymptomsField()
    maintenance = forms.BooleanField(
        label=_("Planned maintenance"),
        required=False,
        help_text=_("Give its end. Tickets are linked from its start."),
    )

    class Meta:
        model = Incident
        fields = [
            "provider",
            "category",
            "symptoms",
            "city",
            "district",
            "summary",
            "summary_zh_hans",
            "starts_at",
            "ends_at",
            "next_update_at",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in TIME_FIELDS:
            if name in self.fields:
                self.fields[name].validators.append(validate_incident_time)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.instance.pk is None:
            check_declaration(self, data, maintenance=bool(data.get("maintenance")))
        else:
            # After creation the area, kind and times that linked tickets stay as they
            # were (read-only); only the texts and the expected times change.
            data.setdefault("starts_at", self.instance.starts_at)
            if not (data.get("summary", "").strip() or data.get("summary_zh_hans", "").strip()):
                if self.instance.source != Incident.Source.DETECTED:
                    self.add_error("summary", _("Say what is wrong, in English or Chinese."))
            ends_at = data.get("ends_at")
            if ends_at is not None and ends_at <= self.instance.starts_at:
                self.add_error("ends_at", _("The end must be after the start."))
        return data


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class IncidentUpdateInline(ReadOnlyInline):
    model = IncidentUpdate
    fields = ["created_at", "kind", "author", "public", "body", "body_zh_hans", "sent"]
    readonly_fields = fields
    verbose_name_plural = _("timeline")

    def get_queryset(self, request: HttpRequest) -> QuerySet[IncidentUpdate]:
        return super().get_queryset(request).select_related("author")

    @admin.display(description=_("sent to the shops"))
    def sent(self, obj: IncidentUpdate) -> str:
        if not obj.public:
            return "—"
        if obj.fanned_out_at is None:
            return str(_("being sent"))
        return ngettext("%(count)d ticket", "%(count)d tickets", obj.tickets_reached) % {
            "count": obj.tickets_reached
        }


# What only an admin's own eyes decide on; the workflow sets the rest.
WORKFLOW_FIELDS = [
    "provider",
    "category",
    "symptoms",
    "city",
    "district",
    "status",
    "source",
    "starts_at",
    "opened_by",
    "confirmed_at",
    "resolved_at",
    "created_at",
    "shops",
    "linked_tickets",
]


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    form = IncidentAdminForm
    list_display = [
        "id",
        "title",
        "provider",
        "area",
        "category",
        "status",
        "source",
        "starts_at",
        "shops",
        "ticket_count",
    ]
    list_display_links = ["id", "title"]
    list_filter = [
        "status",
        "source",
        "category",
        ("provider", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["summary", "summary_zh_hans", "city", "district", "provider__name"]
    list_select_related = ["provider"]
    autocomplete_fields = ["provider"]
    date_hierarchy = "starts_at"
    actions = ["resolve_incidents"]
    inlines = [IncidentUpdateInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Incident]:
        return (
            services.with_shop_counts(super().get_queryset(request))
            .annotate(_tickets=Count("links", distinct=True))
            .order_by("-starts_at", "-id")
        )

    def get_fields(self, request: HttpRequest, obj: Incident | None = None) -> list[str]:
        if obj is None or obj.pk is None:
            return [*IncidentAdminForm.Meta.fields[:7], "maintenance", *TIME_FIELDS]
        return [
            *WORKFLOW_FIELDS,
            "summary",
            "summary_zh_hans",
            "ends_at",
            "next_update_at",
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Incident | None = None) -> list[str]:
        if obj is None:
            return []
        return WORKFLOW_FIELDS

    def get_inlines(self, request: HttpRequest, obj: Incident | None) -> list[type]:
        return self.inlines if obj is not None and obj.pk else []

    def save_model(
        self, request: HttpRequest, obj: Incident, form: forms.ModelForm, change: bool
    ) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        # Added through the service, as a technician declares one: confirmed, timeline
        # opened and the open tickets it covers linked (each with its event).
        data = form.cleaned_data
        incident = services.declare(
            provider=data["provider"],
            user=request.user,
            category=data["category"],
            symptoms=data["symptoms"],
            city=data.get("city", ""),
            district=data.get("district", ""),
            summary=data.get("summary", ""),
            summary_zh_hans=data.get("summary_zh_hans", ""),
            starts_at=data.get("starts_at"),
            ends_at=data.get("ends_at"),
            next_update_at=data.get("next_update_at"),
            maintenance=bool(data.get("maintenance")),
        )
        # The admin goes on with `obj` (its log entry, the redirect): make it this row.
        obj.__dict__.update(incident.__dict__)

    @admin.display(description=_("what is wrong"))
    def title(self, obj: Incident) -> str:
        return obj.title

    @admin.display(description=_("area"))
    def area(self, obj: Incident) -> str:
        return obj.area

    @admin.display(description=_("shops affected"), ordering="shops")
    def shops(self, obj: Incident) -> int:
        return getattr(obj, "shops", 0)

    @admin.display(description=_("linked tickets"), ordering="_tickets")
    def ticket_count(self, obj: Incident) -> int:
        return getattr(obj, "_tickets", 0)

    @admin.display(description=_("linked tickets"))
    def linked_tickets(self, obj: Incident) -> str:
        if obj.pk is None:
            return "—"
        links = list(
            IncidentTicket.objects.filter(incident=obj)
            .select_related("ticket")
            .only("ticket__reference", "ticket__id")
            .order_by("-linked_at", "-id")[:LINKED_SHOWN]
        )
        if not links:
            return "—"
        shown = format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            (
                (
                    reverse("admin:tickets_ticket_change", args=[link.ticket_id]),
                    link.ticket.reference,
                )
                for link in links
            ),
        )
        total = getattr(obj, "_tickets", len(links))
        if total > len(links):
            more = ngettext("and %(count)d more", "and %(count)d more", total - len(links)) % {
                "count": total - len(links)
            }
            return format_html("{} {}", shown, more)
        return shown

    @admin.action(description=_("Resolve the selected incidents and their open tickets"))
    def resolve_incidents(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        done = 0
        for incident in queryset.order_by("pk"):
            try:
                services.resolve(incident, request.user)
            except services.Refused as refused:
                self.message_user(request, f"#{incident.pk}: {refused}", messages.WARNING)
            else:
                done += 1
        if done:
            self.message_user(
                request,
                ngettext(
                    "%(count)d incident resolved: its open tickets are being resolved.",
                    "%(count)d incidents resolved: their open tickets are being resolved.",
                    done,
                )
                % {"count": done},
                messages.SUCCESS,
            )


class ReadOnlyAdmin(admin.ModelAdmin):
    """Written by the workflow and the shops; the admin reads."""

    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Downtime)
class DowntimeAdmin(ReadOnlyAdmin):
    list_display = ["ticket", "merchant", "provider", "city", "started_at", "ended_at", "ended_how"]
    list_filter = ["ended_how", ("provider", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["ticket", "merchant", "provider"]
    search_fields = ["ticket__reference", "merchant__name", "city"]
    date_hierarchy = "started_at"
    ordering = ["-started_at"]


@admin.register(OfflineSale)
class OfflineSaleAdmin(ReadOnlyAdmin):
    # The shop's own books: listed by ticket, time, amount and method; the note and the
    # card's last digits only on a sale's own page, and no search through them.
    list_display = ["ticket", "sold_at", "amount", "method", "created_at"]
    list_filter = ["method"]
    list_select_related = ["ticket"]
    search_fields = ["ticket__reference"]
    date_hierarchy = "sold_at"
    ordering = ["-sold_at", "-id"]
    fields = [
        "ticket",
        "sold_at",
        "amount",
        "method",
        "note",
        "card_last4",
        "recorded_by",
        "created_at",
    ]
