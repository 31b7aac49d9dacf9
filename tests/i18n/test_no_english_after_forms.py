"""No English sentence of PosDesk's own on a Chinese page (issue 12): the pages only a
form, an action or an error reaches.

Each step below is done once in English and once in Simplified Chinese, each time from
the same data (the first is rolled back before the second): each step of the filing,
forms sent back with their errors, the import and register previews and results, the
message after each action on a ticket and its refusals, an outage's pages after "Me
too", "We can take payments again", the offline sales form and each action on an
incident (with their errors and refusals), the technician's search and "My tickets",
canned replies saved, refused and inserted, saved views, bulk actions (done, refused,
and their form again), each step of a repair's logistics (done, with errors, refused),
log-in and password pages, error pages.
The last page of each is compared as the other pages are (englishfinder.py); what the
person typed is theirs and allowed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from tests.factories import PASSWORD
from tests.i18n.conftest import LivedIn, entered_data, pdf, png, rolled_back
from tests.i18n.reading import LANGUAGES, Typed, as_reader, findings, is_page, reader, report
from tickets import canned
from tickets.models import CannedReply, Category, Queue

pytestmark = pytest.mark.django_db


@dataclass
class Step:
    role: str
    label: str
    run: Callable[[Typed, LivedIn], HttpResponse]


STEPS: list[Step] = []


def step(role: str, label: str) -> Callable:
    def register(run: Callable[[Typed, LivedIn], HttpResponse]) -> Callable:
        STEPS.append(Step(role, label, run))
        return run

    return register


def _csv(name: str, text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


# Filing, step by step ---------------------------------------------------------------------

SYMPTOM = {
    Category.HARDWARE: "screen",
    Category.SOFTWARE: "frozen",
    Category.NETWORK: "wifi",
    Category.TRANSACTION: "charged_not_completed",
    Category.OTHER: "other",
}


def _filing(lived: LivedIn, category: str, **fields: object) -> dict:
    data = {
        "device": lived.devices["verified"].pk,
        "category": category,
        "submission_token": str(uuid.uuid4()),
        "symptom": SYMPTOM[category],
        "can_take_payments": "no",
        "description": "Nothing happens when I press a key.",
        "callback_phone": "+86 138 0000 2222",
        "action": "file",
    }
    if category == Category.TRANSACTION:
        data.update(txn_time="2026-03-02T12:30", txn_amount="88.00")
    return data | fields


@step("merchant", "filing, step 1 sent with errors")
def filing_start_wrong(client: Typed, lived: LivedIn) -> HttpResponse:
    return client.get(reverse("tickets:new") + "?category=nope&device=0")


for _category in Category.values:

    @step("merchant", f"filing, step 2 ({_category})")
    def filing_details(client: Typed, lived: LivedIn, category: str = _category) -> HttpResponse:
        device = lived.devices["verified"].pk
        return client.get(reverse("tickets:new") + f"?category={category}&device={device}")

    @step("merchant", f"filing sent empty ({_category})")
    def filing_empty(client: Typed, lived: LivedIn, category: str = _category) -> HttpResponse:
        data = {
            "category": category,
            "device": lived.devices["verified"].pk,
            "submission_token": str(uuid.uuid4()),
        }
        return client.post(reverse("tickets:new"), data)


@step("merchant", "filing sent without a kind of fault")
def filing_no_kind(client: Typed, lived: LivedIn) -> HttpResponse:
    return client.post(reverse("tickets:new"), {}, follow=True)


@step("merchant", "filing with wrong values")
def filing_wrong(client: Typed, lived: LivedIn) -> HttpResponse:
    data = _filing(
        lived,
        Category.TRANSACTION,
        txn_time="yesterday",
        txn_amount="-3",
        card_last4="12a",
        description="x",
        callback_phone="",
    )
    return client.post(reverse("tickets:new"), data)


@step("merchant", "filing a fault already open on the terminal")
def filing_twin(client: Typed, lived: LivedIn) -> HttpResponse:
    data = _filing(lived, Category.HARDWARE, attachments=[png()])
    return client.post(reverse("tickets:new"), data)


@step("merchant", "filing it anyway")
def filing_anyway(client: Typed, lived: LivedIn) -> HttpResponse:
    data = _filing(lived, Category.HARDWARE, action="file_anyway")
    return client.post(reverse("tickets:new"), data, follow=True)


@step("merchant", "filing: a check fixed it")
def filing_fixed(client: Typed, lived: LivedIn) -> HttpResponse:
    data = _filing(lived, Category.NETWORK, action="fixed", checks_tried=["router"])
    return client.post(reverse("tickets:new"), data, follow=True)


@step("merchant", "filed")
def filed(client: Typed, lived: LivedIn) -> HttpResponse:
    data = _filing(lived, Category.NETWORK, symptom="mobile")
    return client.post(reverse("tickets:new"), data, follow=True)


@step("merchant", "filing with a 'since when' too long ago")
def filing_since_too_early(client: Typed, lived: LivedIn) -> HttpResponse:
    data = _filing(lived, Category.NETWORK, payments_down_since="2020-01-02T08:00")
    return client.post(reverse("tickets:new"), data)


@step("merchant", "filing with a 'since when' still to come")
def filing_since_future(client: Typed, lived: LivedIn) -> HttpResponse:
    data = _filing(lived, Category.NETWORK, payments_down_since=_local(timedelta(hours=3)))
    return client.post(reverse("tickets:new"), data)


# Outages: the shop's side -------------------------------------------------------------------


def _local(delta: timedelta) -> str:
    """A time `delta` from now, as a datetime-local field sends it."""
    return timezone.localtime(timezone.now() + delta).strftime("%Y-%m-%dT%H:%M")


@step("merchant", "me too, tapped")
def me_too(client: Typed, lived: LivedIn) -> HttpResponse:
    path = reverse("outages:me_too", args=[lived.incidents["confirmed"].pk])
    data = {"device": lived.devices["claimed"].pk, "submission_token": str(uuid.uuid4())}
    return client.post(path, data, follow=True)


@step("merchant", "me too, on a terminal that has the ticket already")
def me_too_again(client: Typed, lived: LivedIn) -> HttpResponse:
    path = reverse("outages:me_too", args=[lived.incidents["confirmed"].pk])
    data = {"device": lived.devices["ending"].pk, "submission_token": str(uuid.uuid4())}
    return client.post(path, data, follow=True)


@step("merchant", "payments back")
def payments_back(client: Typed, lived: LivedIn) -> HttpResponse:
    path = reverse("outages:payments_back", args=[lived.tickets["incident_suspected"].reference])
    return client.post(path, follow=True)


@step("merchant", "payments back, said twice")
def payments_back_twice(client: Typed, lived: LivedIn) -> HttpResponse:
    path = reverse("outages:payments_back", args=[lived.tickets["incident_confirmed"].reference])
    return client.post(path, follow=True)


def _sale(**fields: object) -> dict:
    return {
        "sold_at": _local(-timedelta(minutes=10)),
        "amount": "25.00",
        "method": "qr",
        "card_last4": "",
        "note": "One lunch set",
        **fields,
    }


@step("merchant", "offline sale logged")
def sale_logged(client: Typed, lived: LivedIn) -> HttpResponse:
    path = reverse("outages:offline_sales", args=[lived.tickets["incident_suspected"].reference])
    return client.post(path, _sale(), follow=True)


@step("merchant", "offline sale with errors")
def sale_wrong(client: Typed, lived: LivedIn) -> HttpResponse:
    path = reverse("outages:offline_sales", args=[lived.tickets["incident_suspected"].reference])
    data = _sale(sold_at=_local(timedelta(days=2)), amount="-3", method="nope", card_last4="12a")
    return client.post(path, data)


@step("merchant", "offline sale with a card number in the note")
def sale_card_number(client: Typed, lived: LivedIn) -> HttpResponse:
    path = reverse("outages:offline_sales", args=[lived.tickets["incident_suspected"].reference])
    return client.post(path, _sale(note="4111 1111 1111 1111", card_last4="4111111111111111"))


@step("merchant", "offline sale on a ticket that can take payments")
def sale_refused(client: Typed, lived: LivedIn) -> HttpResponse:
    path = reverse("outages:offline_sales", args=[lived.tickets["payment"].reference])
    return client.post(path, _sale(), follow=True)


# Outages: the technician's side -------------------------------------------------------------


def _declaration(**fields: object) -> dict:
    return {
        "category": "network",
        "symptoms": ["network:host"],
        "city": "Shanghai",
        "district": "",
        "summary": "The payment host does not answer",
        "summary_zh_hans": "",
        "starts_at": "",
        "ends_at": "",
        "next_update_at": _local(timedelta(hours=1)),
        **fields,
    }


@step("technician", "incident declared")
def incident_declared(client: Typed, lived: LivedIn) -> HttpResponse:
    return client.post(reverse("outages:work_incident_new"), _declaration(), follow=True)


@step("technician", "planned maintenance declared")
def maintenance_declared(client: Typed, lived: LivedIn) -> HttpResponse:
    data = _declaration(
        maintenance="on",
        starts_at=_local(timedelta(days=1)),
        ends_at=_local(timedelta(days=1, hours=2)),
    )
    return client.post(reverse("outages:work_incident_new"), data, follow=True)


@step("technician", "incident declared with errors")
def incident_wrong(client: Typed, lived: LivedIn) -> HttpResponse:
    data = _declaration(
        symptoms=["software:update"],
        city="",
        district="Pudong",
        summary="",
        maintenance="on",
        starts_at="2020-01-02T08:00",
        next_update_at=_local(-timedelta(hours=2)),
    )
    return client.post(reverse("outages:work_incident_new"), data)


@step("technician", "incident declared ending before it starts")
def incident_backwards(client: Typed, lived: LivedIn) -> HttpResponse:
    data = _declaration(starts_at=_local(-timedelta(hours=1)), ends_at=_local(-timedelta(hours=2)))
    return client.post(reverse("outages:work_incident_new"), data)


# (what is shown, action, incident, form data)
INCIDENT_ACTIONS: list[tuple[str, str, str, dict]] = [
    ("confirmed", "confirm", "suspected", {"confirm-body": "The carrier confirms an outage."}),
    ("refused: confirmed already", "confirm", "confirmed", {}),
    (
        "posted",
        "update",
        "confirmed",
        {"update-body": "Engineers are on site.", "update-audience": "public"},
    ),
    (
        "an internal note",
        "update",
        "suspected",
        {"update-body": "Called the carrier.", "update-audience": "internal"},
    ),
    ("sent empty", "update", "confirmed", {"update-audience": "public"}),
    (
        "refused: resolved",
        "update",
        "resolved",
        {"update-body": "Late news.", "update-audience": "public"},
    ),
    ("resolved", "resolve", "confirmed", {"resolve-body": "Version 4.3 is out."}),
    ("refused: resolved already", "resolve", "resolved", {}),
]
for _shown, _action, _incident, _data in INCIDENT_ACTIONS:

    @step("technician", f"incident {_action} on {_incident}, {_shown}")
    def incident_act(
        client: Typed,
        lived: LivedIn,
        url: str = f"outages:work_incident_{_action}",
        incident: str = _incident,
        data: dict = _data,
    ) -> HttpResponse:
        path = reverse(url, args=[lived.incidents[incident].pk])
        return client.post(path, data, follow=True)


# Lists with filters -------------------------------------------------------------------------


@step("merchant", "ticket list, filtered to nothing")
def ticket_list_filtered(client: Typed, lived: LivedIn) -> HttpResponse:
    return client.get(reverse("tickets:list") + "?status=closed&terminal=zzz")


@step("merchant", "terminal list, searched for nothing")
def terminal_list_searched(client: Typed, lived: LivedIn) -> HttpResponse:
    return client.get(reverse("devices:list") + "?q=zzz")


@step("technician", "queue, filtered")
def queue_filtered(client: Typed, lived: LivedIn) -> HttpResponse:
    queue = reverse("tickets:queue", args=[lived.tickets["question"].queue_id])
    return client.get(queue + "?status=all&assigned=nobody&overdue=on&sort=priority&q=zzz")


@step("technician", "queue, with filters that make no sense")
def queue_nonsense(client: Typed, lived: LivedIn) -> HttpResponse:
    queue = reverse("tickets:queue", args=[lived.tickets["question"].queue_id])
    return client.get(queue + "?status=nope&priority=9&sort=nope&page=0")


# The merchant's terminals -------------------------------------------------------------------


def _terminal(lived: LivedIn, **fields: object) -> dict:
    x = lived.world.provider_x
    return {
        "model": lived.devices["verified"].model_id,
        "serial_number": "NEW0000123",
        "purchase_date": (timezone.localdate() - timedelta(days=20)).isoformat(),
        "provider": x.pk,
        "acquirer": x.pk,
        "status": "active",
        "location": "Second till",
        **fields,
    }


@step("merchant", "terminal registered")
def terminal_registered(client: Typed, lived: LivedIn) -> HttpResponse:
    data = _terminal(lived, proof_of_purchase=pdf())
    return client.post(reverse("devices:new"), data, follow=True)


@step("merchant", "terminal form with errors")
def terminal_wrong(client: Typed, lived: LivedIn) -> HttpResponse:
    data = _terminal(lived, serial_number="!!", purchase_date="2999-01-01", model="")
    return client.post(reverse("devices:new"), data)


@step("merchant", "terminal registered twice")
def terminal_twice(client: Typed, lived: LivedIn) -> HttpResponse:
    out = lived.devices["out"]
    data = _terminal(lived, serial_number=out.serial_number, model=out.model_id)
    return client.post(reverse("devices:new"), data, follow=True)


@step("merchant", "terminal with another shop's serial")
def terminal_elsewhere(client: Typed, lived: LivedIn) -> HttpResponse:
    theirs = lived.world.device_b
    data = _terminal(lived, serial_number=theirs.serial_number, model=theirs.model_id)
    return client.post(reverse("devices:new"), data, follow=True)


@step("merchant", "terminal edited")
def terminal_edited(client: Typed, lived: LivedIn) -> HttpResponse:
    device = lived.devices["unknown"]
    data = _terminal(lived, serial_number=device.serial_number, model=device.model_id)
    return client.post(reverse("devices:edit", args=[device.pk]), data, follow=True)


def _import_file(lived: LivedIn, *, broken: bool) -> SimpleUploadedFile:
    device = lived.devices["claimed"]
    brand, model = device.model.brand.name, device.model.name
    x = lived.world.provider_x.name
    rows = [
        "brand,model,serial,purchase date,provider,acquirer,location",
        f"{brand},{model},IMP0001,2026-01-02,{x},{x},Till 3",
    ]
    if broken:
        rows += [f"Nobody,{model},,2026-13-02,{x},Nobody,", f"{brand},{model},IMP0001,,{x},,"]
    return _csv("shop.csv", "\n".join(rows) + "\n")


@step("merchant", "import preview with errors")
def import_wrong(client: Typed, lived: LivedIn) -> HttpResponse:
    return client.post(reverse("devices:import"), {"file": _import_file(lived, broken=True)})


@step("merchant", "import of a file that is not text")
def import_binary(client: Typed, lived: LivedIn) -> HttpResponse:
    upload = SimpleUploadedFile("x.csv", b"\x00\xff\xfe" * 10)
    return client.post(reverse("devices:import"), {"file": upload})


@step("merchant", "import of a file with a wrong header")
def import_header(client: Typed, lived: LivedIn) -> HttpResponse:
    upload = _csv("header.csv", "brand,colour\nPAX,red\n")
    return client.post(reverse("devices:import"), {"file": upload})


@step("merchant", "import preview")
def import_preview(client: Typed, lived: LivedIn) -> HttpResponse:
    return client.post(reverse("devices:import"), {"file": _import_file(lived, broken=False)})


@step("merchant", "import confirmed")
def import_confirmed(client: Typed, lived: LivedIn) -> HttpResponse:
    preview = import_preview(client, lived)
    data = {"confirm": "1", "digest": preview.context["digest"]}
    return client.post(reverse("devices:import"), data, follow=True)


@step("merchant", "import confirmed too late")
def import_too_late(client: Typed, lived: LivedIn) -> HttpResponse:
    data = {"confirm": "1", "digest": "0"}
    return client.post(reverse("devices:import"), data, follow=True)


# The technician's warranty register and terminal pages ------------------------------------


def _register_file(lived: LivedIn, *, broken: bool) -> SimpleUploadedFile:
    device = lived.devices["claimed"]
    end = (timezone.localdate() + timedelta(days=400)).isoformat()
    rows = [
        "serial,brand,sold on,warranty end",
        f"{device.serial_number},{device.model.brand.name},2026-01-02,{end}",
        f"NOSUCH1,{device.model.brand.name},,{end}",
    ]
    if broken:
        rows += ["X9,Nobody,2020-13-01,"]
    return _csv("register.csv", "\n".join(rows) + "\n")


@step("technician", "register preview with errors")
def register_wrong(client: Typed, lived: LivedIn) -> HttpResponse:
    upload = _register_file(lived, broken=True)
    return client.post(reverse("terminals:register"), {"file": upload})


@step("technician", "register preview")
def register_preview(client: Typed, lived: LivedIn) -> HttpResponse:
    upload = _register_file(lived, broken=False)
    return client.post(reverse("terminals:register"), {"file": upload})


@step("technician", "register applied")
def register_applied(client: Typed, lived: LivedIn) -> HttpResponse:
    preview = register_preview(client, lived)
    data = {"digest": preview.context["digest"]}
    return client.post(reverse("terminals:register_confirm"), data, follow=True)


@step("technician", "register confirmed too late")
def register_too_late(client: Typed, lived: LivedIn) -> HttpResponse:
    return client.post(reverse("terminals:register_confirm"), {"digest": "0"}, follow=True)


@step("technician", "terminal warranty set")
def warranty_set(client: Typed, lived: LivedIn) -> HttpResponse:
    path = reverse("terminals:warranty", args=[lived.devices["out"].pk])
    data = {"warranty_end": "2030-01-01", "void": "", "void_reason": ""}
    return client.post(path, data, follow=True)


@step("technician", "terminal warranty with errors")
def warranty_wrong(client: Typed, lived: LivedIn) -> HttpResponse:
    path = reverse("terminals:warranty", args=[lived.devices["out"].pk])
    data = {"warranty_end": "1999-01-01", "void": "on", "void_reason": ""}
    return client.post(path, data, follow=True)


# Getting in ---------------------------------------------------------------------------------


@step("visitor", "log-in refused")
def login_refused(client: Typed, lived: LivedIn) -> HttpResponse:
    return client.post(reverse("login"), {"username": "alice", "password": "wrong"})


@step("visitor", "log-in after many failures")
def login_many_failures(client: Typed, lived: LivedIn) -> HttpResponse:
    for attempt in range(12):
        response = client.post(reverse("login"), {"username": "ada", "password": f"no{attempt}"})
    return response


@step("visitor", "password reset asked")
def reset_asked(client: Typed, lived: LivedIn) -> HttpResponse:
    data = {"email": lived.world.alice.email}
    return client.post(reverse("password_reset"), data, follow=True)


@step("visitor", "password reset with no address")
def reset_no_address(client: Typed, lived: LivedIn) -> HttpResponse:
    return client.post(reverse("password_reset"), {"email": "not an address"})


def _reset_link(client: Typed, lived: LivedIn, token: str | None = None) -> HttpResponse:
    user = lived.world.alice
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = token or default_token_generator.make_token(user)
    path = reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token})
    return client.get(path, follow=True)


@step("visitor", "password reset link")
def reset_link(client: Typed, lived: LivedIn) -> HttpResponse:
    return _reset_link(client, lived)


@step("visitor", "password reset link no longer valid")
def reset_link_used(client: Typed, lived: LivedIn) -> HttpResponse:
    return _reset_link(client, lived, token="bad-token")


@step("visitor", "password reset link, the new password refused")
def reset_refused(client: Typed, lived: LivedIn) -> HttpResponse:
    form = _reset_link(client, lived).redirect_chain[-1][0]
    return client.post(form, {"new_password1": "abc", "new_password2": "abd"})


@step("visitor", "password reset link, the new password set")
def reset_done(client: Typed, lived: LivedIn) -> HttpResponse:
    form = _reset_link(client, lived).redirect_chain[-1][0]
    password = "Long-enough-2026"
    data = {"new_password1": password, "new_password2": password}
    return client.post(form, data, follow=True)


@step("merchant", "password changed")
def password_changed(client: Typed, lived: LivedIn) -> HttpResponse:
    password = "Long-enough-2026"
    data = {"old_password": PASSWORD, "new_password1": password, "new_password2": password}
    return client.post(reverse("password_change"), data, follow=True)


@step("merchant", "password change refused")
def password_refused(client: Typed, lived: LivedIn) -> HttpResponse:
    data = {"old_password": "wrong", "new_password1": "123", "new_password2": "1234"}
    return client.post(reverse("password_change"), data)


# Error pages --------------------------------------------------------------------------------


@step("merchant", "a page that does not exist")
def not_found(client: Typed, lived: LivedIn) -> HttpResponse:
    return client.get("/tickets/PD-999999/")


@step("visitor", "a form sent without its CSRF cookie")
def csrf_refused(client: Typed, lived: LivedIn) -> HttpResponse:
    strict = Client(enforce_csrf_checks=True, **client.client.defaults)
    return strict.post(reverse("login"), {"username": "alice", "password": "x"})


# Each action on a ticket: done (the message and the page after it), refused, and sent
# empty (the form again, with its errors) -----------------------------------------------------

MERCHANT_ACTIONS: list[tuple[str, str, dict]] = [
    ("reply", "asked", {"body": "The keypad beeps twice.", "attachments": "png"}),
    ("cancel", "asked", {"reason": "restart", "other": ""}),
    ("cancel", "asked", {"reason": "other", "other": "We sold the shop."}),
    ("quote_accept", "quote", {}),
    ("quote_decline", "quote", {}),
    ("confirm", "resolved", {}),
    ("reopen", "resolved", {"reason": "Still dark in the morning."}),
    ("rate", "confirmed", {"rating": "5", "comment": ""}),
    ("rate", "auto_closed", {"rating": "3", "comment": "Slow but fixed."}),
    ("add_proof", "proof_needed", {"purchase_date": "2026-01-05", "proof": "pdf"}),
    ("confirm", "question", {}),  # not now: refused
    ("cancel", "confirmed", {"reason": "restart"}),  # closed: refused
]
WORK_ACTIONS: list[tuple[str, str, dict]] = [
    ("claim", "new", {}),  # not routed yet: not in any queue of the provider
    ("claim", "late", {}),
    ("claim", "question", {}),  # someone's already: refused
    ("assign", "late", {"assign-assignee": "xena"}),
    ("reply", "question", {"reply-body": "A technician comes at three."}),
    ("note", "question", {"note-body": "Spare board ordered."}),
    ("ask", "late", {"ask-body": "Is the cable plugged in?"}),
    (
        "quote",
        "claim_rejected_on_ticket",
        {"quote-amount": "80.00", "quote-covers": "A new card reader"},
    ),
    (
        "transfer",
        "late",
        {"transfer-queue": "paid_repair", "transfer-reason": "It needs the repair centre."},
    ),
    ("transfer", "quote", {"transfer-queue": "paid_repair", "transfer-reason": "Why not."}),
    ("loaner_issue", "late", {"loaner-serial": "LN-0099"}),
    ("loaner_return", "question", {}),
    ("resolve", "question", {"resolve-code": "remote_fix", "resolve-note": "Reset it."}),
    ("resolve", "quote", {"resolve-code": "replaced", "resolve-note": "Swapped."}),  # refused
    (
        "warranty_verify",
        "claim_rejected",
        {"wverify-warranty_end": "2027-05-01", "wverify-source": "proof", "wverify-note": ""},
    ),
    ("warranty_reject", "proof_sent", {"wreject-reason": "The invoice is for another shop."}),
    ("warranty_reject", "late", {"wreject-reason": "No claim here."}),  # refused
    ("resolve_duplicate", "late", {"duplicate-original": "ref:question"}),
    ("resolve_duplicate", "late", {"duplicate-original": "PD-999999"}),  # no such ticket
]
FILES = {"png": lambda: [png("keys.png")], "pdf": lambda: pdf("bill.pdf")}


def _values(lived: LivedIn, data: dict) -> dict:
    """The form's fields, with fresh files and the world's ids in place of names."""
    values = {key: FILES[value]() if value in FILES else value for key, value in data.items()}
    if values.get("assign-assignee") == "xena":
        values["assign-assignee"] = lived.world.xena.pk
    for key, value in values.items():
        if isinstance(value, str) and value.startswith("ref:"):
            values[key] = lived.tickets[value.removeprefix("ref:")].reference
    if values.get("transfer-queue") == "paid_repair":
        queue = Queue.objects.get(provider=lived.world.provider_x, kind=Queue.Kind.PAID_REPAIR)
        values["transfer-queue"] = queue.pk
    return values


for _role, _actions, _prefix in (
    ("merchant", MERCHANT_ACTIONS, "tickets:"),
    ("technician", WORK_ACTIONS, "tickets:work_"),
):
    for _action, _ticket, _data in _actions:
        for _sent in ("done", "empty") if _data else ("done",):

            @step(_role, f"{_role} {_action} on {_ticket}, {_sent}")
            def act(
                client: Typed,
                lived: LivedIn,
                url: str = _prefix + _action,
                ticket: str = _ticket,
                data: dict = _data if _sent == "done" else {},
            ) -> HttpResponse:
                path = reverse(url, args=[lived.tickets[ticket].reference])
                return client.post(path, _values(lived, data), follow=True)


# The technician's search and "My tickets" --------------------------------------------------

SEARCHES = {
    "an English word": "terminal",
    "a Chinese word": "打印机",
    "a reference": "ref:question",
    "nothing it finds": "zzz",
}
for _what, _query in SEARCHES.items():

    @step("technician", f"search for {_what}")
    def searched(client: Typed, lived: LivedIn, query: str = _query) -> HttpResponse:
        if query.startswith("ref:"):
            query = lived.tickets[query.removeprefix("ref:")].reference
        return client.get(reverse("tickets:work_search"), {"q": query})


for _show in ("open", "waiting", "resolved"):

    @step("technician", f"my tickets, {_show}")
    def mine(client: Typed, lived: LivedIn, show: str = _show) -> HttpResponse:
        return client.get(reverse("tickets:work_mine"), {"show": show})


# Canned replies (Xavier manages provider X) --------------------------------------------------


def _canned(**fields: object) -> dict:
    return {
        "title": "Check the cable",
        "body": "Hello {merchant}, please check the cable. {technician}",
        "body_zh_hans": "",
        **fields,
    }


@step("technician", "canned reply saved")
def canned_saved(client: Typed, lived: LivedIn) -> HttpResponse:
    return client.post(reverse("tickets:canned_new"), _canned(), follow=True)


@step("technician", "canned reply sent empty")
def canned_empty(client: Typed, lived: LivedIn) -> HttpResponse:
    return client.post(reverse("tickets:canned_new"), {})


@step("technician", "canned reply with a title taken and an unknown placeholder")
def canned_wrong(client: Typed, lived: LivedIn) -> HttpResponse:
    data = _canned(title="Restart first", body="{shop}", body_zh_hans="{店名}您好")
    return client.post(reverse("tickets:canned_new"), data)


@step("technician", "canned reply without any text")
def canned_no_text(client: Typed, lived: LivedIn) -> HttpResponse:
    return client.post(reverse("tickets:canned_new"), _canned(body=""))


def _own_canned(lived: LivedIn) -> int:
    return lived.ids("canned")[0]


@step("technician", "canned reply edited")
def canned_edited(client: Typed, lived: LivedIn) -> HttpResponse:
    path = reverse("tickets:canned_edit", args=[_own_canned(lived)])
    return client.post(path, _canned(title="Restart it first"), follow=True)


@step("technician", "canned reply deleted")
def canned_deleted(client: Typed, lived: LivedIn) -> HttpResponse:
    path = reverse("tickets:canned_delete", args=[_own_canned(lived)])
    return client.post(path, follow=True)


@step("technician", "a canned reply inserted into the reply")
def canned_inserted(client: Typed, lived: LivedIn) -> HttpResponse:
    ticket = lived.tickets["question"]
    reply = CannedReply.objects.get(pk=_own_canned(lived))
    # Filled in the shop's language, whatever the technician reads: the provider's own
    # text with the shop's and the technician's names.
    client.typed.add(canned.text_for(reply, ticket, lived.world.xavier))
    path = reverse("tickets:work_ticket", args=[ticket.reference])
    return client.get(path, {"into": "reply", "canned": _own_canned(lived)})


# Saved views of a queue's filter ------------------------------------------------------------

SAVED_VIEWS = {
    "saved": "Printers overdue",
    "a name taken": "Late ones",
    "sent without a name": "",
}
for _what, _name in SAVED_VIEWS.items():

    @step("technician", f"saved view, {_what}")
    def view_saved(client: Typed, lived: LivedIn, name: str = _name) -> HttpResponse:
        path = reverse("tickets:saved_view_new", args=[lived.tickets["late"].queue_id])
        data = {"name": name, "query": "overdue=on&sort=priority"}
        return client.post(path, data, follow=True)


@step("technician", "saved view deleted")
def view_deleted(client: Typed, lived: LivedIn) -> HttpResponse:
    path = reverse("tickets:saved_view_delete", args=[lived.ids("saved_view")[0]])
    return client.post(path, follow=True)


# Bulk actions on a queue list: done and refused ticket by ticket, and the form again -------

# (what is shown, action, tickets, form data); a ticket "-" is an id nobody's queue has.
BULK: list[tuple[str, str, tuple[str, ...], dict]] = [
    ("claimed, one refused, one unknown", "claim", ("late", "question", "-"), {}),
    ("a note on two", "note", ("late", "asked"), {"note-body": "Checked both at once."}),
    ("assigned", "assign", ("late",), {"assign-assignee": "xena"}),
    (
        "transferred",
        "transfer",
        ("late",),
        {"transfer-queue": "paid_repair", "transfer-reason": "They need the repair centre."},
    ),
    ("transfer without a reason", "transfer", ("late",), {"transfer-queue": "paid_repair"}),
    ("duplicates closed", "resolve_duplicate", ("late",), {"duplicate-original": "ref:question"}),
    ("duplicate of no ticket", "resolve_duplicate", ("late",), {"duplicate-original": "PD-0"}),
    ("note sent empty", "note", ("late",), {}),
    ("no action chosen", "", ("late",), {}),
    ("no ticket selected", "claim", (), {}),
]
for _shown, _action, _tickets, _data in BULK:

    @step("technician", f"bulk action: {_shown}")
    def bulk(
        client: Typed,
        lived: LivedIn,
        action: str = _action,
        tickets: tuple[str, ...] = _tickets,
        data: dict = _data,
    ) -> HttpResponse:
        queue = reverse("tickets:queue", args=[lived.tickets["late"].queue_id])
        ids = [lived.tickets[name].pk if name != "-" else 999999 for name in tickets]
        sent = {"action": action, "tickets": ids, "next": queue, **_values(lived, data)}
        return client.post(reverse("tickets:work_bulk"), sent, follow=True)


# Repair logistics: each step done, sent with errors, refused ------------------------------


def _slot(prefix: str, days: int = 3, start: str = "10:00", end: str = "12:00") -> dict:
    day = (timezone.localdate() + timedelta(days=days)).isoformat()
    return {f"{prefix}-day": day, f"{prefix}-start": start, f"{prefix}-end": end}


# (url name, ticket, form data): each with data is also sent empty.
REPAIR_STEPS: list[tuple[str, str, str, dict]] = [
    ("technician", "work_start_visit", "quote_accepted", _slot("visit")),
    ("technician", "work_start_visit", "quote_accepted", _slot("visit", -2, "12:00", "09:00")),
    ("technician", "work_start_visit", "quote_accepted", _slot("visit", 900)),
    (
        "technician",
        "work_start_send_in",
        "quote_accepted",
        {
            "send_in-centre_address": "12 Dock Street",
            "send_in-courier": "SF Express",
            "send_in-tracking": "SF42",
        },
    ),
    (
        "technician",
        "work_start_swap",
        "quote_accepted",
        {"swap-replacement_serial": "RPL-1", "swap-courier": "EMS", "swap-tracking": "EMS42"},
    ),
    ("technician", "work_start_swap", "quote", {"swap-courier": "EMS"}),  # not decided
    ("technician", "work_start_visit", "repair_visit_proposed", _slot("visit")),  # chosen
    ("technician", "work_propose", "repair_visit_countered", _slot("propose", 6)),
    ("technician", "work_accept_counter", "repair_visit_countered", {}),
    ("technician", "work_visited", "repair_visit_confirmed", {}),
    ("technician", "work_visited", "repair_visit_proposed", {}),  # not confirmed: refused
    ("technician", "work_received", "repair_sent_in", {}),
    ("technician", "work_received", "repair_visit_proposed", {}),  # a visit: refused
    ("technician", "work_repaired", "repair_received", {}),
    (
        "technician",
        "work_ship_back",
        "repair_repaired",
        {"ship_back-courier": "SF Express", "ship_back-tracking": "SF77"},
    ),
    ("technician", "work_delivered", "repair_swap_shipped", {}),
    ("technician", "work_old_returned", "repair_swap_delivered", {}),
    ("merchant", "confirm", "repair_visit_proposed", {}),
    ("merchant", "confirm", "repair_visit_confirmed", {}),  # confirmed already: refused
    (
        "merchant",
        "counter",
        "repair_visit_proposed",
        {**_slot("counter", 4, "14:00", "16:00"), "counter-note": "Ring the back door."},
    ),
    ("merchant", "counter", "repair_visit_proposed", _slot("counter", 4, "16:00", "14:00")),
    ("merchant", "delivered", "repair_shipped_back", {}),
    ("merchant", "delivered", "repair_swap_shipped", {}),
    ("merchant", "delivered", "repair_sent_in", {}),  # not shipped yet: refused
]
for _role, _name, _ticket, _data in REPAIR_STEPS:
    for _sent in ("done", "empty") if _data else ("done",):

        @step(_role, f"repair {_name} on {_ticket}, {_sent} {sorted(_data.values())}")
        def repair_step(
            client: Typed,
            lived: LivedIn,
            url: str = f"repairs:{_name}",
            ticket: str = _ticket,
            data: dict = _data if _sent == "done" else {},
        ) -> HttpResponse:
            path = reverse(url, args=[lived.tickets[ticket].reference])
            return client.post(path, data, follow=True)


@pytest.mark.parametrize("role", ["merchant", "technician", "visitor"])
def test_what_forms_and_actions_show_is_chinese(lived_in: LivedIn, role: str) -> None:
    who = reader(lived_in, role)
    found: dict[str, list[str]] = {}
    for each in [each for each in STEPS if each.role == role]:
        typed: set[str] = set()
        pages = {}
        for language in LANGUAGES:
            with rolled_back():
                pages[language] = as_reader(
                    who, language, lambda client, s=each: s.run(client, lived_in), typed
                )
                # The data as the page showed it (a filing adds its reference).
                typed |= entered_data(lived_in)
        english, chinese = pages["en"], pages["zh-hans"]
        assert is_page(english), f"{each.label}: {english.status_code}, not a page"
        for finding in findings(english, chinese, typed):
            found.setdefault(finding, []).append(each.label)
    assert found == {}, report(found)
