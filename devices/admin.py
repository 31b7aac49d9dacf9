from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from devices.forms import DeviceChecks
from devices.models import Brand, Device, DeviceModel, Membership, Merchant, Provider
from devices.warranty import WarrantyStatus


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class MerchantMembershipInline(MembershipInline):
    fk_name = "merchant"
    exclude = ["provider"]
    verbose_name = _("member user")
    verbose_name_plural = _("member users")


class ProviderMembershipInline(MembershipInline):
    fk_name = "provider"
    exclude = ["merchant"]
    verbose_name = _("technician")
    verbose_name_plural = _("technicians")


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "hotline", "support_24h", "active", "device_count"]
    list_filter = ["kind", "support_24h", "active"]
    search_fields = ["name", "hotline"]
    # A list, so the tickets app can append its queue inline.
    inlines = [ProviderMembershipInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Provider]:
        # A GROUP BY drops Meta.ordering: name it again so autocomplete pages stay stable.
        return (
            super()
            .get_queryset(request)
            .annotate(_devices=Count("serviced_devices"))
            .order_by("name")
        )

    @admin.display(description=_("terminals serviced"), ordering="_devices")
    def device_count(self, obj: Provider) -> int:
        return obj._devices


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = ["name", "city", "contact_phone", "device_count", "created_at"]
    list_filter = ["city"]
    search_fields = ["name", "city", "contact_phone", "address"]
    inlines = [MerchantMembershipInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Merchant]:
        return super().get_queryset(request).annotate(_devices=Count("devices")).order_by("name")

    @admin.display(description=_("terminals"), ordering="_devices")
    def device_count(self, obj: Merchant) -> int:
        return obj._devices


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "merchant", "provider"]
    list_filter = [
        ("merchant", admin.RelatedOnlyFieldListFilter),
        ("provider", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["user__username", "user__email", "merchant__name", "provider__name"]
    autocomplete_fields = ["user", "merchant", "provider"]
    list_select_related = ["user", "merchant", "provider"]


class DeviceModelInline(admin.TabularInline):
    model = DeviceModel
    extra = 0


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    list_display = ["name", "support_note"]
    search_fields = ["name"]
    inlines = [DeviceModelInline]


@admin.register(DeviceModel)
class DeviceModelAdmin(admin.ModelAdmin):
    list_display = ["name", "brand", "default_warranty_months"]
    list_filter = ["brand"]
    search_fields = ["name", "brand__name"]
    autocomplete_fields = ["brand"]
    list_select_related = ["brand"]


class WarrantyStatusFilter(admin.SimpleListFilter):
    title = _("warranty")
    parameter_name = "warranty"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple]:
        return list(WarrantyStatus.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Device]) -> QuerySet[Device]:
        # The same rule as devices.warranty.warranty_status, as a query.
        today = timezone.localdate()
        if self.value() == WarrantyStatus.IN:
            return queryset.filter(warranty_void=False, warranty_end__gte=today)
        if self.value() == WarrantyStatus.OUT:
            return queryset.filter(Q(warranty_void=True) | Q(warranty_end__lt=today))
        if self.value() == WarrantyStatus.UNKNOWN:
            return queryset.filter(warranty_void=False, warranty_end__isnull=True)
        return queryset


class DeviceAdminForm(DeviceChecks, forms.ModelForm):
    """The admin's device form: the merchant form's checks, and the acquirer's kind."""

    class Meta:
        model = Device
        fields = "__all__"  # noqa: DJ007 - the admin edits every field

    def clean(self) -> dict[str, object]:
        cleaned = super().clean()
        self.check_serial_free(cleaned)
        acquirer = cleaned.get("acquirer")
        if acquirer is not None and acquirer.kind not in Provider.ACQUIRER_KINDS:
            self.add_error("acquirer", _("The acquirer must be a bank or a payment institution."))
        return cleaned


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    form = DeviceAdminForm
    list_display = [
        "serial_number",
        "model",
        "merchant",
        "provider",
        "acquirer",
        "status",
        "warranty_end",
        "warranty_column",
    ]
    list_filter = [
        WarrantyStatusFilter,
        "status",
        "warranty_void",
        ("provider", admin.RelatedOnlyFieldListFilter),
        ("model__brand", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["serial_number", "merchant__name", "model__name", "brand__name", "location"]
    autocomplete_fields = ["merchant", "provider", "acquirer", "model"]
    list_select_related = ["model__brand", "merchant", "provider", "acquirer"]
    readonly_fields = ["brand", "created_at", "updated_at"]
    date_hierarchy = "created_at"
    fieldsets = [
        (None, {"fields": ["merchant", "model", "brand", "serial_number", "status", "location"]}),
        (
            _("Warranty"),
            {
                "fields": [
                    "purchase_date",
                    "warranty_end",
                    "warranty_void",
                    "warranty_void_reason",
                    "proof_of_purchase",
                ]
            },
        ),
        (_("Service"), {"fields": ["provider", "acquirer"]}),
        (_("History"), {"fields": ["created_at", "updated_at"]}),
    ]

    @admin.display(description=_("warranty status"))
    def warranty_column(self, obj: Device) -> str:
        status = obj.warranty_status()
        if status == WarrantyStatus.IN:
            return _("%(label)s (%(days)d days left)") % {
                "label": status.label,
                "days": obj.warranty_days_left,
            }
        return str(status.label)
