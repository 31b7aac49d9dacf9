"""Issue 10: a full card number is refused in every free-text field a person writes.

Merchants, technicians and admins alike, in every form and at the model (so every
admin form), however the number is disguised. The form and model lists are found, not
written down, so a new field or form cannot be forgotten: it either has the check or is
named in an allow-list below with the reason it needs none.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from io import StringIO
from pathlib import Path
from types import ModuleType

import pytest
from django import forms
from django.apps import AppConfig, apps
from django.conf import settings
from django.contrib import admin
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import models
from django.test import RequestFactory
from django.urls import reverse

from conftest import World
from devices import importer
from tests.factories import queued_ticket
from tickets.forms import TicketFilterForm
from tickets.models import Attachment, Category, Ticket, TicketEvent
from tickets.pci import contains_card_number, refuse_card_number
from tickets.services import FilingRefused, file_ticket
from tickets.tests.filing_helpers import PNG, filing_data
from tickets.uploads import check_upload

PCI_MESSAGE = "Never enter a full card number: PCI DSS forbids storing it."

DISGUISES = [
    pytest.param("4111 1111 1111 1111", id="spaces"),
    pytest.param("4111-1111-1111-1111", id="dashes"),
    pytest.param("4111.1111.1111.1111", id="dots"),
    pytest.param("4111/1111/1111/1111", id="slashes"),
    pytest.param("4111  1111   1111 1111", id="repeated-spaces"),
    pytest.param("4111\n1111\n1111\n1111", id="newlines"),
    pytest.param("4111111111111111", id="plain"),
    pytest.param("４１１１１１１１１１１１１１１１", id="full-width"),
    pytest.param("6217 0012 3456 7890 122", id="19-digits"),
    pytest.param("4222222222222", id="13-digits"),
    pytest.param("Card 4111.1111.1111.1111 was charged twice", id="in-a-sentence"),
]


# Discovery --------------------------------------------------------------------------------

REPO = Path(settings.BASE_DIR).resolve()


def project_apps() -> list[AppConfig]:
    """Our apps: their code lives in the repository (the virtualenv inside it aside)."""
    venv = Path(sys.prefix).resolve()
    found = []
    for config in apps.get_app_configs():
        path = Path(config.path).resolve()
        if path.is_relative_to(REPO) and not path.is_relative_to(venv):
            found.append(config)
    return found


def project_models() -> list[type[models.Model]]:
    return [model for config in project_apps() for model in config.get_models()]


def form_modules() -> list[ModuleType]:
    """Every `forms*.py` module (or `forms/` package) of our apps."""
    modules = []
    for config in project_apps():
        root = Path(config.path)
        names = sorted(path.stem for path in root.glob("forms*.py"))
        package = root / "forms"
        if (package / "__init__.py").exists():
            names += ["forms", *(f"forms.{path.stem}" for path in sorted(package.glob("*.py")))]
        modules += [importlib.import_module(f"{config.name}.{name}") for name in names]
    return modules


def project_form_classes() -> list[type[forms.BaseForm]]:
    return [
        obj
        for module in form_modules()
        for obj in vars(module).values()
        if inspect.isclass(obj)
        and issubclass(obj, forms.BaseForm)
        and obj.__module__ == module.__name__
    ]


def project_model_admins() -> list[admin.ModelAdmin]:
    labels = {config.label for config in project_apps()}
    return [
        model_admin
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label in labels
    ]


def dotted(form_class: type) -> str:
    return f"{form_class.__module__}.{form_class.__qualname__}"


# Models -----------------------------------------------------------------------------------

# Text fields that are not free text a person writes, each with why it needs no check.
# (A field with `choices` needs none either: it holds one of its choices or nothing.)
NOT_FREE_TEXT = {
    # Written by PosDesk, never typed: "PD-000123", from the primary key.
    "tickets.Ticket.reference",
    # Written by the routing task from the rule's and queue's names (which are checked);
    # read-only in the admin.
    "tickets.Ticket.routing_note",
    # The detected type of an upload ("image/png"), never the client's word.
    "tickets.Attachment.content_type",
    # Four digits at most, and only digits (the database's ticket_card_last4_digits).
    "tickets.Ticket.card_last4",
    # The log-in and credentials of the auth user: a user name, a password hash, an
    # e-mail address (checked as one).
    "portal.User.username",
    "portal.User.password",
    "portal.User.email",
    # A web address, checked as one.
    "devices.Provider.website",
    # Outages: written by PosDesk, never typed. A downtime's city is copied from the
    # shop's (checked) at filing; an incident's detection key and symptom group are
    # derived from the shop's city and a code list (outages.detection).
    "outages.Downtime.city",
    "outages.Incident.area_key",
    "outages.Incident.group",
    # The e-mail outbox: rendered by PosDesk from templates and from fields that are
    # checked, or written by it (keys, Message-IDs, SMTP errors); never a form.
    "mail.OutboundEmail.idempotency_key",
    "mail.OutboundEmail.message_id",
    "mail.OutboundEmail.kind",
    "mail.OutboundEmail.recipient",
    "mail.OutboundEmail.language",
    "mail.OutboundEmail.subject",
    "mail.OutboundEmail.text",
    "mail.OutboundEmail.html",
    "mail.OutboundEmail.last_error",
    # The reply address PosDesk signs for each reader (mail.replies), never typed.
    "mail.OutboundEmail.reply_to",
    # API keys (api): the lookup prefix and the hash of a secret PosDesk made.
    "api.ApiKey.prefix",
    "api.ApiKey.hashed_secret",
    # Reports (reports): the breakdown value a rollup row is keyed by, copied from
    # checked fields (a model's, a city's, a category's code).
    "reports.DayRollup.key",
    # Webhooks (webhooks): the secret PosDesk made; the endpoint's address, checked as a
    # URL and by the SSRF guard; the JSON body PosDesk wrote and the event it came
    # from; what the endpoint answered, or why it could not be reached (a log).
    "webhooks.Endpoint.secret",
    "webhooks.Endpoint.url",
    "webhooks.Delivery.body",
    "webhooks.Delivery.source",
    "webhooks.DeliveryAttempt.error",
    "webhooks.DeliveryAttempt.response",
}


def is_historical(model: type[models.Model]) -> bool:
    # django-simple-history's copies: written by the library from the tracked row,
    # which is checked; never through a form.
    return hasattr(model, "instance_type")


def text_fields_without_the_check() -> Iterator[str]:
    for model in project_models():
        if is_historical(model):
            continue
        for field in model._meta.get_fields():
            if not isinstance(field, models.CharField | models.TextField) or field.choices:
                continue
            name = f"{model._meta.label}.{field.name}"
            if refuse_card_number not in field.validators and name not in NOT_FREE_TEXT:
                yield name


def test_every_text_field_of_every_model_refuses_a_card_number() -> None:
    missing = sorted(text_fields_without_the_check())
    assert not missing, (
        "Add validators=[refuse_card_number] to these fields, or name them in "
        f"NOT_FREE_TEXT with the reason they need no check: {missing}"
    )


def test_the_model_allow_list_names_only_fields_that_exist() -> None:
    fields = {
        f"{model._meta.label}.{field.name}"
        for model in project_models()
        for field in model._meta.get_fields()
    }
    assert NOT_FREE_TEXT <= fields, sorted(NOT_FREE_TEXT - fields)


def test_the_model_check_finds_what_it_looks_for() -> None:
    labels = {model._meta.label for model in project_models()}
    assert {"devices.Device", "tickets.Ticket", "tickets.TicketEvent", "portal.User"} <= labels
    assert not any(label.startswith(("auth.", "admin.", "axes.")) for label in labels)


# Forms ------------------------------------------------------------------------------------


@dataclass
class Setting:
    """What the form factories build from."""

    world: World
    monkeypatch: pytest.MonkeyPatch

    @cached_property
    def ticket(self) -> Ticket:
        return queued_ticket(self.world.device_a, reporter=self.world.alice)


def _filter_form_with_search_box(setting: Setting) -> dict[str, object]:
    # A shop with more terminals than the select holds gets a search box instead.
    setting.monkeypatch.setattr(TicketFilterForm, "TERMINALS_IN_SELECT", 0)
    return {"merchant": setting.world.merchant_a}


# Constructor arguments of the forms that need them, or that show all their free-text
# fields only with some. A form with a required argument and no entry fails the test.
FORM_ARGUMENTS: dict[str, Callable[[Setting], dict[str, object]]] = {
    "tickets.forms.StartForm": lambda s: {"merchant": s.world.merchant_a},
    # The transaction category has the other categories' fields and five more.
    "tickets.forms.TicketForm": lambda s: {
        "merchant": s.world.merchant_a,
        "category": Category.TRANSACTION,
    },
    "tickets.forms.TicketFilterForm": _filter_form_with_search_box,
    "tickets.forms_work.AssignForm": lambda s: {"provider": s.world.provider_x},
    "tickets.forms_work.TransferForm": lambda s: {"ticket": s.ticket},
    "tickets.forms_work.DuplicateForm": lambda s: {"provider": s.world.provider_x},
    "outages.forms.MeTooForm": lambda s: {"merchant": s.world.merchant_a},
    "tickets.forms_canned.CannedReplyForm": lambda s: {"provider_id": s.world.provider_x.pk},
    "webhooks.forms.EndpointForm": lambda s: {"provider_id": s.world.provider_x.pk},
    # A report's range and breakdown (dates and choices): the dates are checked.
    "reports.forms.ReportForm": lambda s: {"admin": True},
}


def required_arguments(form_class: type[forms.BaseForm]) -> list[str]:
    skip = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return [
        parameter.name
        for parameter in list(inspect.signature(form_class.__init__).parameters.values())[1:]
        if parameter.kind not in skip and parameter.default is inspect.Parameter.empty
    ]


@dataclass(frozen=True)
class FormCase:
    """One form to try: a project form class, or a ModelAdmin's add or change form."""

    form_class: type[forms.BaseForm] | None = None
    model_admin: admin.ModelAdmin | None = None
    change: bool = False

    @property
    def id(self) -> str:
        if self.form_class is not None:
            return dotted(self.form_class)
        return f"admin:{self.model_admin.model._meta.label}:{'change' if self.change else 'add'}"

    def build(self, setting: Setting) -> tuple[type[forms.BaseForm], dict[str, object]]:
        if self.form_class is not None:
            factory = FORM_ARGUMENTS.get(self.id)
            if factory is None:
                needed = required_arguments(self.form_class)
                if needed:
                    pytest.fail(
                        f"{self.id} needs {needed} to be built: register it here, in "
                        "FORM_ARGUMENTS, so its fields are checked for card numbers."
                    )
                return self.form_class, {}
            return self.form_class, factory(setting)
        request = RequestFactory().get("/admin/")
        request.user = setting.world.admin
        if not self.change:
            if not self.model_admin.has_add_permission(request):
                pytest.skip("the admin offers no add form")
            return self.model_admin.get_form(request), {}
        model = self.model_admin.model
        if model is Ticket:
            setting.ticket  # noqa: B018 - the world has no ticket of its own
        obj = model._default_manager.first() or model()
        return self.model_admin.get_form(request, obj, change=True), {"instance": obj}


FORM_CASES = [
    *(FormCase(form_class=form_class) for form_class in project_form_classes()),
    *(
        FormCase(model_admin=model_admin, change=change)
        for model_admin in project_model_admins()
        for change in (False, True)
    ),
]

# Not plain text: a typed value a field of its own kind checks.
NOT_TEXT_FIELDS = (forms.EmailField, forms.URLField, forms.UUIDField)
NOT_TEXT_WIDGETS = (forms.HiddenInput, forms.PasswordInput)


def is_free_text(form_class: type[forms.BaseForm], field: forms.Field, name: str) -> bool:
    if not isinstance(field, forms.CharField) or isinstance(field, NOT_TEXT_FIELDS):
        return False
    if isinstance(field.widget, NOT_TEXT_WIDGETS):
        return False
    model = getattr(getattr(form_class, "_meta", None), "model", None)
    return model is None or f"{model._meta.label}.{name}" not in NOT_FREE_TEXT


def refused_by_the_field_itself(field: forms.Field, value: str) -> bool:
    """Whether the field's own checks (its length, its format) refuse the value before a
    model's validators would see it: then "refused" is all the test can ask for."""
    try:
        field.clean(value)
    except ValidationError as error:
        return bool({e.code for e in error.error_list} - {"card_number"})
    return False


def test_the_form_discovery_finds_the_forms_people_write_in() -> None:
    ids = {case.id for case in FORM_CASES}
    assert {
        "tickets.forms.TicketForm",
        "tickets.forms.ReplyForm",
        "tickets.forms_work.ReplyForm",
        "tickets.forms_work.LoanerIssueForm",
        "devices.forms.DeviceForm",
        "admin:devices.Device:add",
        "admin:tickets.Ticket:change",
        "admin:portal.User:change",
    } <= ids


def test_every_registered_form_argument_names_a_form() -> None:
    ids = {case.id for case in FORM_CASES}
    assert set(FORM_ARGUMENTS) <= ids, sorted(set(FORM_ARGUMENTS) - ids)


@pytest.mark.parametrize("disguise", DISGUISES)
@pytest.mark.parametrize("case", FORM_CASES, ids=lambda case: case.id)
def test_every_free_text_field_of_every_form_refuses_a_card_number(
    world: World, monkeypatch: pytest.MonkeyPatch, case: FormCase, disguise: str
) -> None:
    form_class, arguments = case.build(Setting(world, monkeypatch))
    blank = form_class(**arguments)
    missed = []
    for name, field in blank.fields.items():
        if not is_free_text(form_class, field, name):
            continue
        # One field at a time, so no other field's value decides what happens.
        form = form_class(data={blank.add_prefix(name): disguise}, files={}, **arguments)
        if refused_by_the_field_itself(field, disguise):
            refused = name in form.errors
        else:
            refused = form.has_error(name, code="card_number")
        if not refused:
            missed.append(name)
    assert not missed, f"{case.id} accepts a card number in {missed}"


# End to end -------------------------------------------------------------------------------


def test_a_card_number_in_the_callback_phone_is_refused_at_the_field(world, as_user) -> None:  # noqa: ANN001
    data = filing_data(
        world.device_a,
        description="Blank receipts since this morning",
        callback_phone="4111 1111 1111 1111",
    )
    response = as_user(world.alice).post(reverse("tickets:new"), data)
    assert response.status_code == 200
    form = response.context["form"]
    assert form.has_error("callback_phone", code="card_number")
    assert PCI_MESSAGE in response.text
    assert "Blank receipts since this morning" in response.text  # what was typed is kept
    assert not Ticket.objects.exists()


def test_a_technicians_reply_with_a_card_number_is_refused_and_not_sent(
    world: World,
    as_user,  # noqa: ANN001
) -> None:
    ticket = queued_ticket(world.device_a, reporter=world.alice)
    mail.outbox.clear()
    response = as_user(world.xavier).post(
        reverse("tickets:work_reply", args=[ticket.reference]),
        {"reply-body": "Is your card 4111.1111.1111.1111? Please confirm."},
    )
    assert response.status_code == 200
    assert response.context["forms"]["reply"].has_error("body", code="card_number")
    assert PCI_MESSAGE in response.text
    assert not TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.REPLY).exists()
    assert not any("4111" in message.body for message in mail.outbox)


@pytest.mark.parametrize(
    "field",
    ["description", "callback_phone", "error_code", "txn_response_code", "txn_reference"],
)
def test_the_filing_service_refuses_a_card_number_in_any_text(world: World, field: str) -> None:
    filing = {
        "merchant": world.merchant_a,
        "device": world.device_a,
        "reporter": world.alice,
        "category": Category.TRANSACTION,
        "symptom": "charged_not_completed",
        "can_take_payments": Ticket.Payments.YES,
        "description": "Charged, but the terminal said failed.",
        "callback_phone": "+86 138 0013 8002",
    }
    filing[field] = "4111/1111/1111/1111"
    with pytest.raises(FilingRefused):
        file_ticket(**filing)
    assert not Ticket.objects.exists()


def test_a_phone_number_in_international_notation_is_filed(world: World, as_user) -> None:  # noqa: ANN001
    # +86 138 0013 8002 is 13 digits that pass the Luhn check.
    data = filing_data(world.device_a, callback_phone="+86 138 0013 8002")
    response = as_user(world.alice).post(reverse("tickets:new"), data)
    assert response.status_code == 302
    assert Ticket.objects.get().callback_phone == "+86 138 0013 8002"


def test_an_attachment_named_after_a_card_number_is_kept_under_a_neutral_name(
    world: World,
    as_user,  # noqa: ANN001
) -> None:
    photo = SimpleUploadedFile("card 4111 1111 1111 1111.png", PNG, content_type="image/png")
    response = as_user(world.alice).post(
        reverse("tickets:new"), filing_data(world.device_a, attachments=[photo])
    )
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    assert attachment.original_name == "attachment.png"
    assert "4111" not in attachment.file.name


def test_an_upload_name_without_a_card_number_is_kept() -> None:
    photo = SimpleUploadedFile("receipt 2026-11-30.png", PNG, content_type="image/png")
    assert check_upload(photo).name == "receipt 2026-11-30.png"


@pytest.mark.parametrize("column", ["serial", "location"])
def test_an_imported_row_with_a_card_number_is_refused(world: World, column: str) -> None:
    device = world.device_a
    values = {
        "serial": "SN-IMPORT-1",
        "location": "Till 4",
        column: "4111.1111.1111.1111",
    }
    text = (
        "brand,model,serial,purchase date,provider,acquirer,location\n"
        f"{device.model.brand.name},{device.model.name},{values['serial']},2026-01-05,"
        f"{world.provider_x.name},{world.provider_x.name},{values['location']}\n"
    )
    preview = importer.check_csv(text)
    assert not preview.is_valid
    (row,) = preview.rows
    assert any(PCI_MESSAGE in error for error in row.errors)
    assert not importer.import_terminals(text, merchant=world.merchant_a).imported


# Demo and test data -----------------------------------------------------------------------


def test_the_demo_data_and_the_test_world_hold_no_card_number(world: World, settings) -> None:  # noqa: ANN001
    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())
    queued_ticket(world.device_a, reporter=world.alice)
    found = []
    for model in project_models():
        for field in model._meta.get_fields():
            if not isinstance(field, models.CharField | models.TextField):
                continue
            for pk, value in model._default_manager.values_list("pk", field.name):
                if value and contains_card_number(value):
                    found.append(f"{model._meta.label}.{field.name} #{pk}: {value!r}")
    assert not found
