from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import FileResponse, Http404, HttpRequest
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from simple_history.admin import SimpleHistoryAdmin

from devices import services
from devices.forms import DeviceChecks
from devices.models import (
    Brand,
    Device,
    DeviceModel,
    Membership,
    Merchant,
    Provider,
    RegistrationReview,
)
from devices.views_work import proof_response
from devices.warranty import WarrantyCheck, WarrantySource, WarrantyStatus


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class MerchantMembershipInline(MembershipInline):
    fk_name = "merchant"
    exclude = ["provider", "manager", "on_duty"]  # a shop's people have neither role
    verbose_name = _("member user")
    verbose_name_plural = _("member users")


class ProviderMembershipInline(MembershipInline):
    fk_name = "provider"
    exclude = ["merchant"]
    verbose_name = _("technician")
    verbose_name_plural = _("technicians")


@admin.register(Provider)
class ProviderAdmin(SimpleHistoryAdmin):
    list_display = [
        "name",
        "kind",
        "hotline",
        "support_24h",
        "warranty_months",
        "active",
        "device_count",
    ]
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
    list_display = ["user", "merchant", "provider", "manager", "on_duty"]
    list_filter = [
        "manager",
        "on_duty",
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
class DeviceModelAdmin(SimpleHistoryAdmin):
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


class ProofLinkWidget(forms.ClearableFileInput):
    """The stored proof as a link to the admin's own permission-checked download: the
    file's storage URL is not served (uploads never are), so the default link was a 404."""

    def __init__(self, *args: object, download_url: str = "", **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.download_url = download_url

    def get_context(self, name: str, value: object, attrs: dict | None) -> dict:
        context = super().get_context(name, value, attrs)
        if self.download_url and context["widget"].get("is_initial"):
            context["widget"]["value"] = ProofValue(str(value), self.download_url)
        return context


class ProofValue(str):
    """A file value whose `.url` is the permission-checked download, for the template."""

    def __new__(cls, name: str, url: str) -> ProofValue:
        value = super().__new__(cls, name.rsplit("/", 1)[-1])
        value.url = url
        return value


# What the admin's save changes on the warranty: the admin vouches for it.
ADMIN_WARRANTY_FIELDS = {"purchase_date", "warranty_end", "warranty_void", "warranty_void_reason"}


@admin.register(Device)
class DeviceAdmin(SimpleHistoryAdmin):
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
    readonly_fields = [
        "brand",
        "created_at",
        "updated_at",
        "warranty_check",
        "warranty_checked_by",
        "warranty_checked_at",
        "warranty_source",
        "warranty_check_note",
        "merchant_changed_warranty_at",
    ]
    date_hierarchy = "created_at"
    actions = ["verify_warranty"]
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
                    "warranty_voided_on",
                    "proof_of_purchase",
                    "warranty_check",
                    "warranty_checked_by",
                    "warranty_checked_at",
                    "warranty_source",
                    "warranty_check_note",
                    "merchant_changed_warranty_at",
                ],
                "description": _(
                    "Changing the purchase date, the end or the void here marks the "
                    "warranty verified by you; the history keeps the old values."
                ),
            },
        ),
        (_("Service"), {"fields": ["provider", "acquirer"]}),
        (_("History"), {"fields": ["created_at", "updated_at"]}),
    ]

    def get_urls(self) -> list:
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<int:pk>/proof/",
                self.admin_site.admin_view(self.proof_view),
                name="{}_{}_proof".format(*info),
            ),
            *super().get_urls(),
        ]

    def proof_view(self, request: HttpRequest, pk: int) -> FileResponse:
        device = Device.objects.filter(pk=pk).first()
        if device is None or not self.has_view_permission(request, device):
            raise Http404
        return proof_response(device)

    def get_form(self, request: HttpRequest, obj: Device | None = None, **kwargs: object):  # noqa: ANN201
        form = super().get_form(request, obj, **kwargs)
        if obj is not None and obj.pk:
            url = reverse("admin:devices_device_proof", args=[obj.pk])
            form.base_fields["proof_of_purchase"].widget = ProofLinkWidget(download_url=url)
        return form

    def save_model(
        self, request: HttpRequest, obj: Device, form: forms.ModelForm, change: bool
    ) -> None:
        if ADMIN_WARRANTY_FIELDS & set(form.changed_data):
            obj.warranty_check = WarrantyCheck.VERIFIED
            obj.warranty_checked_by = request.user
            obj.warranty_checked_at = timezone.now()
            obj.warranty_source = WarrantySource.ADMIN
            obj.warranty_check_note = ""
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Mark the warranty verified (checked by me)"))
    def verify_warranty(self, request: HttpRequest, queryset: QuerySet[Device]) -> None:
        done = 0
        for device in queryset:
            try:
                services.verify(
                    device,
                    user=request.user,
                    warranty_end=None,
                    source=WarrantySource.ADMIN,
                )
            except services.WarrantyRefused as refused:
                self.message_user(request, f"{device}: {refused}", messages.WARNING)
            else:
                done += 1
        if done:
            self.message_user(
                request,
                ngettext("%(n)d warranty verified.", "%(n)d warranties verified.", done)
                % {"n": done},
                messages.SUCCESS,
            )

    @admin.display(description=_("warranty status"))
    def warranty_column(self, obj: Device) -> str:
        return obj.warranty_label()


@admin.register(RegistrationReview)
class RegistrationReviewAdmin(admin.ModelAdmin):
    """Registrations held because another shop's terminal has the serial. The admin finds
    out which shop has the terminal (moving it in the terminal's own page if need be),
    then records the outcome here; the submitting shop was told only "needs a check"."""

    list_display = [
        "serial_number",
        "model",
        "merchant",
        "registered_to",
        "submitted_by",
        "created_at",
        "status",
    ]
    list_filter = ["status", "brand"]
    search_fields = ["serial_number", "merchant__name", "submitted_by__username"]
    list_select_related = ["model__brand", "merchant", "submitted_by"]
    readonly_fields = [
        "merchant",
        "submitted_by",
        "model",
        "serial_number",
        "purchase_date",
        "provider",
        "acquirer",
        "location",
        "created_at",
        "registered_to",
        "decided_by",
        "decided_at",
    ]
    fields = [*readonly_fields[:-2], "status", "note", "decided_by", "decided_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # held by the merchant's registration, never typed in here

    @admin.display(description=_("terminal registered to"))
    def registered_to(self, obj: RegistrationReview) -> str:
        device = obj.registered_device
        if device is None:
            return _("nobody now: it can be registered")
        url = reverse("admin:devices_device_change", args=[device.pk])
        return format_html('<a href="{}">{}</a>', url, device.merchant)

    def save_model(
        self, request: HttpRequest, obj: RegistrationReview, form: forms.ModelForm, change: bool
    ) -> None:
        if "status" in form.changed_data:
            obj.decided_by = request.user
            obj.decided_at = timezone.now()
        super().save_model(request, obj, form, change)
