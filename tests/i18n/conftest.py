"""A lived-in world for the language tests: merchant A's terminals and tickets in every
state a page or an e-mail words differently, provider X's incidents of each status with
their downtime and offline sales, and a queue with office hours that assigns itself,
built through the services and the workflow (so events, facts and history are what
PosDesk really stores).

Everything people type here is English on purpose: it is data, and the allow-list
(`entered_data`) must let it through while PosDesk's own words around it are Chinese.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from conftest import World, make_world
from devices import services as device_services
from devices.models import Brand, Device, DeviceModel, Membership, Merchant, Provider
from devices.warranty import WarrantyCheck, WarrantySource
from outages import services as outages
from outages.fanout import fan_out
from outages.models import Incident, IncidentUpdate, OfflineSale
from portal.models import User
from repairs import services as repairs
from repairs.models import Repair
from tests.factories import DeviceFactory, MerchantFactory, UserFactory, member_of
from tickets import routing, services, sla, tasks, workflow
from tickets.forms import CancelForm
from tickets.models import (
    Attachment,
    BusinessCalendar,
    CannedReply,
    Holiday,
    Queue,
    RoutingRule,
    SavedView,
    Ticket,
)
from tickets.uploads import check_upload

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02" + b"\x00" * 64
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"


def png(name: str = "screen.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PNG, content_type="image/png")


def pdf(name: str = "receipt.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


@dataclass
class LivedIn:
    world: object
    tickets: dict[str, Ticket] = field(default_factory=dict)
    devices: dict[str, Device] = field(default_factory=dict)
    incidents: dict[str, Incident] = field(default_factory=dict)
    # Every free text a person typed while the world was built (see `said`).
    typed: set[str] = field(default_factory=set)

    def said(self, text: str) -> str:
        """`text`, typed by a person: allowed on a Chinese page as it was written."""
        self.typed.add(text)
        return text

    def ids(self, kind: str) -> list[object]:
        """Every object of a URL keyword's kind (tests.security.urlmap), to render each."""
        if kind == "ticket":
            return [t.reference for t in Ticket.objects.order_by("pk")]
        if kind == "device":
            return list(Device.objects.order_by("pk").values_list("pk", flat=True))
        if kind == "queue":
            return list(Queue.objects.order_by("pk").values_list("pk", flat=True))
        if kind == "attachment":
            return list(Attachment.objects.order_by("pk").values_list("pk", flat=True))
        if kind == "incident":
            return list(Incident.objects.order_by("pk").values_list("pk", flat=True))
        if kind == "canned":
            return list(CannedReply.objects.order_by("pk").values_list("pk", flat=True))
        if kind == "saved_view":
            return list(SavedView.objects.order_by("pk").values_list("pk", flat=True))
        if kind in ("webhook", "webhook_delivery"):
            from webhooks.models import Delivery, Endpoint

            model = Endpoint if kind == "webhook" else Delivery
            return list(model.objects.order_by("pk").values_list("pk", flat=True))
        raise KeyError(kind)


# Names in the examples of the CSV import and register pages (a brand, as the page
# says: "written as in the lists").
EXAMPLE_NAMES = {"PAX"}


def entered_data(lived: LivedIn) -> set[str]:
    """What people entered, as pages and e-mails show it, allowed in any language:
    names and numbers from the database, and each text a person typed (`said`).

    Not here: free-text columns read from the database, since PosDesk might have
    stored its own words there (a withdrawal reason's label once was); choices'
    labels; self-help checks and advice (both languages are stored); events' texts."""
    values: set[str] = set(lived.typed) | EXAMPLE_NAMES
    for model, fields in (
        (Provider, ["name", "hotline"]),
        (Merchant, ["name", "city", "district", "address", "contact_phone"]),
        (Brand, ["name"]),
        (DeviceModel, ["name"]),
        (Device, ["serial_number", "location"]),
        (Queue, ["name"]),
        (BusinessCalendar, ["name"]),
        (Holiday, ["name"]),
        (RoutingRule, ["name"]),
        (User, ["username", "first_name", "last_name", "email", "phone"]),
        (
            Ticket,
            [
                "reference",
                "error_code",
                "callback_phone",
                "loaner_serial",
                "txn_response_code",
                "txn_reference",
            ],
        ),
        (Attachment, ["original_name"]),
        (Repair, ["replacement_serial", "tracking_in", "tracking_out"]),
    ):
        for row in model.objects.values_list(*fields):
            values.update(str(v) for v in row if v)
    for device_model in DeviceModel.objects.select_related("brand"):
        values.add(str(device_model))
    # A proof of purchase's file, as the terminal's form shows it.
    for name in Device.objects.exclude(proof_of_purchase="").values_list(
        "proof_of_purchase", flat=True
    ):
        values.update({name, name.rsplit("/", 1)[-1]})
    return values


@contextmanager
def rolled_back() -> Iterator[None]:
    """Whatever happens inside is undone: the same action can be done again, in the
    other language, from the same data."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def _filer(lived: LivedIn):  # noqa: ANN202
    def file(device: Device, category: str, symptom: str, **extra: object) -> Ticket:
        """File as the shop does (services.file_ticket), as Alice typed it."""
        fields = {
            "can_take_payments": Ticket.Payments.NO,
            "description": lived.said(f"The terminal at the {device.location} fails."),
            "callback_phone": "+86 138 0000 1111",
            **extra,
        }
        ticket, _created = services.file_ticket(
            merchant=device.merchant,
            device=device,
            reporter=lived.world.alice,
            category=category,
            symptom=symptom,
            allow_open_twin=True,
            **fields,
        )
        return ticket

    return file


def _route(ticket: Ticket) -> Ticket:
    return routing.route(ticket.pk)


@pytest.fixture(scope="module")
def _lived_in_for_the_module(
    django_db_setup, django_db_blocker, tmp_path_factory
) -> Iterator[LivedIn]:  # noqa: ANN001
    """The lived-in world, made once for a module's tests (it takes seconds to make).

    It is made in a transaction of its own, rolled back when the module is done; each
    test runs in a savepoint inside it (pytest-django's `db`) that is rolled back after
    the test, so each test starts from the same world whatever the one before it did.
    Nothing else runs in between: a module's tests run one after the other."""
    media = tmp_path_factory.mktemp("lived-in-media")
    outer = transaction.atomic()
    # Like the transaction of Django's TestCase: a durable block may open inside it.
    outer._from_testcase = True
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=media), outer:
        try:
            yield _lived_in(make_world())
        finally:
            transaction.set_rollback(True)


@pytest.fixture
def lived_in(_lived_in_for_the_module: LivedIn, db) -> LivedIn:  # noqa: ANN001
    """The module's lived-in world (above), in this test's own transaction: its objects
    read again, since a test before this one may have changed them in Python (a log-in
    stamps `last_login` on the user, which a password-reset token is made from) and only
    the database was rolled back."""
    lived = _lived_in_for_the_module
    for each in (
        *vars(lived.world).values(),
        *lived.devices.values(),
        *lived.tickets.values(),
        *lived.incidents.values(),
    ):
        each.refresh_from_db()
    return lived


def _lived_in(w: World) -> LivedIn:  # noqa: PLR0915
    lived = LivedIn(world=w)
    said = lived.said
    file = _filer(lived)
    w.alice.first_name, w.alice.last_name = "Alice", "Wong"
    w.alice.save()
    # A second member of the shop hears of what Alice does.
    member_of(UserFactory(username="ada", first_name="Ada"), merchant=w.merchant_a)
    today = timezone.localdate()
    x = w.provider_x
    x.hotline = "400-820-1234"
    x.save()

    # Terminals of shop A, each with a different warranty story.
    claim = {
        "warranty_check": WarrantyCheck.CLAIMED,
        "warranty_checked_at": None,
        "warranty_source": "",
    }
    on = {"merchant": w.merchant_a, "provider": x, "acquirer": x}
    lived.devices.update(
        verified=w.device_a,
        claimed=DeviceFactory(**on, **claim, location="Back office"),
        unknown=DeviceFactory(
            **on | {"acquirer": None},
            **claim,
            location="Terrace",
            purchase_date=None,
            warranty_end=None,
        ),
        out=DeviceFactory(
            **on,
            purchase_date=today - timedelta(days=900),
            warranty_end=today - timedelta(days=170),
        ),
        void=DeviceFactory(**on),
        rejected=DeviceFactory(**on, **claim),
        ending=DeviceFactory(**on, warranty_end=today + timedelta(days=10)),
    )
    d = lived.devices
    verified = d["verified"]
    device_services.add_proof(d["claimed"], user=w.alice, proof=pdf(), purchase_date=None)
    device_services.set_warranty(
        d["void"],
        user=w.xavier,
        warranty_end=d["void"].warranty_end,
        void=True,
        void_reason=said("Liquid damage under the keypad"),
    )
    device_services.reject(
        d["rejected"], user=w.xavier, reason=said("The receipt is for another terminal")
    )
    t = lived.tickets

    # Waiting for routing.
    t["new"] = file(verified, "software", "slow", checks_tried=["restart"])
    # Worked on: claimed, question and answer, a note, files, a loaner.
    q = _route(
        file(
            verified,
            "hardware",
            "screen",
            checks_tried=["power-cable", "restart"],
            error_code="E11",
            attachments=[check_upload(png())],
        )
    )
    workflow.claim(q, w.xavier)
    workflow.ask(q, w.xavier, said("Which error code is on the screen?"))
    services.merchant_reply(
        ticket=q,
        user=w.alice,
        body=said("Error 11, after the update."),
        files=[check_upload(png("after.png"))],
    )
    workflow.note(q, w.xavier, said("Host logs checked: no connection since Monday."))
    workflow.assign(q, w.xavier, w.xena)
    workflow.issue_loaner(q, w.xavier, "LN-0042")
    workflow.reply(q, w.xavier, said("A spare terminal is on its way."))
    t["question"] = q
    lent = _route(file(verified, "hardware", "battery"))
    workflow.issue_loaner(lent, w.xavier, "LN-0043")
    workflow.return_loaner(lent, w.xavier)
    t["loaner_returned"] = lent
    # Waiting for the merchant's answer to a question.
    asked = _route(file(verified, "hardware", "keypad"))
    workflow.ask(asked, w.xavier, said("Does the keypad beep when pressed?"))
    t["asked"] = asked
    # Out of warranty: a quote to decide, one accepted, one declined.
    for name in ("quote", "quote_accepted", "quote_declined"):
        paid = _route(file(d["out"], "hardware", "printer"))
        workflow.claim(paid, w.xavier)
        workflow.send_quote(paid, w.xavier, Decimal("120.00"), said("New printer unit and labour"))
        if name == "quote_accepted":
            workflow.accept_quote(paid, w.alice)
        elif name == "quote_declined":
            workflow.decline_quote(paid, w.alice)
        t[name] = paid
    # Resolved, waiting for the shop to confirm; then the ends of a ticket's life.
    for name in ("resolved", "confirmed", "auto_closed", "reopened"):
        done = _route(file(verified, "hardware", "battery"))
        workflow.claim(done, w.xena)
        workflow.resolve(done, w.xena, Ticket.Resolution.REMOTE_FIX, said("Re-keyed the terminal."))
        if name == "confirmed":
            workflow.confirm(done, w.alice)
            workflow.rate(done, w.alice, 4, said("Quick and friendly."))
        elif name == "auto_closed":
            workflow.auto_close(done, 0, now=timezone.now() + timedelta(days=8))
        elif name == "reopened":
            workflow.reopen(done, w.alice, said("It went dark again at noon."))
        t[name] = done
    # Withdrawn by the shop, from the page's form: a reason chosen, one typed.
    withdrawals = {
        "cancelled": {"reason": "restart", "other": ""},
        "cancelled_other": {"reason": "other", "other": said("Sold the shop.")},
    }
    for name, chosen in withdrawals.items():
        withdrawn = _route(file(verified, "network", "wifi", checks_tried=["router"]))
        form = CancelForm(chosen)
        assert form.is_valid(), form.errors
        workflow.cancel(withdrawn, w.alice, **form.withdraw_kwargs())
        t[name] = withdrawn
    # The warranty claim: verified, rejected, proof asked for and sent.
    verified_claim = _route(file(d["claimed"], "hardware", "card_reader"))
    workflow.verify_warranty(
        verified_claim,
        w.xavier,
        today + timedelta(days=200),
        WarrantySource.PROOF,
        said("Invoice 2231 seen"),
    )
    t["claim_verified"] = verified_claim
    t["claim_rejected"] = _route(file(d["rejected"], "hardware", "power"))
    t["proof_needed"] = _route(file(d["unknown"], "hardware", "screen"))
    sent = _route(file(d["unknown"], "hardware", "keypad"))
    workflow.add_proof(sent, w.alice, pdf("invoice.pdf"), today - timedelta(days=40))
    t["proof_sent"] = sent
    to_reject = _route(file(d["claimed"], "hardware", "printer"))
    workflow.reject_warranty(to_reject, w.xavier, said("The serial on the invoice differs."))
    t["claim_rejected_on_ticket"] = to_reject
    # A payment fault: what to do meanwhile, the payment's details.
    t["payment"] = _route(
        file(
            verified,
            "transaction",
            "charged_not_completed",
            checks_tried=["receipt", "bank-app"],
            txn_time=timezone.now() - timedelta(hours=2),
            txn_amount=Decimal("88.00"),
            card_last4="4242",
            txn_response_code="51",
            txn_reference="REF778899",
            can_take_payments=Ticket.Payments.DEGRADED,
        )
    )
    # Transferred to another queue, with a reason; returned by a leaver.
    moved = _route(file(verified, "network", "host"))
    workflow.claim(moved, w.xena)
    workflow.transfer(
        moved,
        w.xavier,
        Queue.objects.get(provider=x, kind=Queue.Kind.WARRANTY_REPAIR),
        said("The modem board needs a repair."),
    )
    workflow.claim(moved, w.xena)
    workflow.unassign_leaver(moved, w.xena, workflow.LEFT_MOVED)
    t["transferred"] = moved
    # Late: both SLA targets breached.
    t["late"] = _route(file(verified, "software", "frozen"))
    sla.mark_breaches(timezone.now() + timedelta(days=30))
    # No rule fits: the platform's triage queue, for an admin; routing that failed.
    RoutingRule.objects.filter(category="other").update(active=False)
    t["triage"] = _route(file(verified, "other", "other"))
    t["routing_failed"] = _fail_routing(file(verified, "software", "update"))
    # PosDesk's admin: re-routed, cancelled, closed as a duplicate.
    rerouted = _route(file(verified, "software", "error_code"))
    routing.reroute(rerouted.pk, w.admin)
    t["rerouted"] = rerouted
    admin_cancelled = _route(file(verified, "software", "login"))
    workflow.admin_cancel(admin_cancelled, w.admin, said("Filed by mistake for a test."))
    t["admin_cancelled"] = admin_cancelled
    twin = _route(file(verified, "hardware", "screen"))
    workflow.close_duplicate(twin, w.admin, q)
    t["duplicate"] = twin
    # A technician closes the shop's second ticket for the same fault as a duplicate.
    again = _route(file(verified, "hardware", "screen"))
    workflow.resolve_duplicate(again, w.xavier, q)
    t["duplicate_by_technician"] = again
    _repairs(lived, file)
    _outages(lived, file)
    _assigned_automatically(lived, file)
    for name, ticket in t.items():
        t[name] = Ticket.objects.get(pk=ticket.pk)
    return lived


def _slot(days: int) -> dict[str, datetime]:
    day = timezone.localdate() + timedelta(days=days)
    start = timezone.make_aware(datetime.combine(day, time(10)))
    return {"slot_start": start, "slot_end": start + timedelta(hours=2)}


def _repairs(lived: LivedIn, file) -> None:  # noqa: ANN001 - the world's filer
    """Repair logistics of each method, stopped at each step, through repairs.services:
    visits proposed, countered, confirmed and done; send-ins on the way to the centre,
    received, repaired and shipped back; swaps shipped, delivered and the old terminal
    back; and a billable repair resolved with its quote accepted, which has a receipt."""
    w = lived.world
    said = lived.said
    t = lived.tickets
    verified = lived.devices["verified"]
    send_in = {
        "centre_address": said("Repair centre, 88 Harbour Road, Pudong"),
        "courier": said("SF Express"),
        "tracking": "SF1234567890",
    }
    swap = {"replacement_serial": "RPL-7788", "courier": said("JD Logistics"), "tracking": "JD0099"}

    def decided(symptom: str, description: str = "") -> Ticket:
        """In warranty, claimed by Xavier: the repair is decided."""
        extra = {"description": said(description)} if description else {}
        ticket = _route(file(verified, "hardware", symptom, **extra))
        workflow.claim(ticket, w.xavier)
        return ticket

    def steps(ticket: Ticket, *names: str) -> None:
        for name in names:
            who = w.alice if name in {"confirm", "counter", "delivered"} else w.xavier
            extra: dict[str, object] = {}
            if name == "counter":
                extra = {**_slot(4), "note": said("After two, please: we open late.")}
            elif name == "propose":
                extra = _slot(5)
            elif name == "ship_back":
                extra = {"courier": said("SF Express"), "tracking": "SF5550001"}
            repairs.take_step(Ticket.objects.get(pk=ticket.pk), who, name, **extra)

    visits = {
        "repair_visit_proposed": (),
        "repair_visit_countered": ("counter",),
        "repair_visit_proposed_again": ("counter", "propose"),
        "repair_visit_confirmed": ("counter", "accept_counter"),
        "repair_visited": ("confirm", "visited"),
    }
    for name, taken in visits.items():
        ticket = decided("printer")
        repairs.start(ticket, w.xavier, Repair.Method.VISIT, **_slot(3))
        steps(ticket, *taken)
        t[name] = ticket
    # Described in Chinese, as many shops do: the technician's search finds it by a word.
    send_ins = {
        "repair_sent_in": (),
        "repair_received": ("received",),
        "repair_repaired": ("received", "repaired"),
        "repair_shipped_back": ("received", "repaired", "ship_back"),
        "repair_back_at_the_shop": ("received", "repaired", "ship_back", "delivered"),
    }
    for name, taken in send_ins.items():
        ticket = decided("card_reader", "读卡器不读卡，打印机也卡纸。")
        repairs.start(ticket, w.xavier, Repair.Method.SEND_IN, **send_in)
        steps(ticket, *taken)
        t[name] = ticket
    swaps = {
        "repair_swap_shipped": (),
        "repair_swap_delivered": ("delivered",),
        "repair_old_returned": ("delivered", "old_returned"),
    }
    for name, taken in swaps.items():
        ticket = decided("screen")
        repairs.start(ticket, w.xavier, Repair.Method.SWAP, **swap)
        steps(ticket, *taken)
        t[name] = ticket
    # Billable: a quote accepted, sent in and back, resolved: the shop's receipt.
    paid = _route(file(lived.devices["out"], "hardware", "printer"))
    workflow.claim(paid, w.xavier)
    workflow.send_quote(paid, w.xavier, Decimal("280.00"), said("New card reader and labour"))
    workflow.accept_quote(paid, w.alice)
    repairs.start(Ticket.objects.get(pk=paid.pk), w.xavier, Repair.Method.SEND_IN, **send_in)
    steps(paid, "received", "repaired", "ship_back", "delivered")
    workflow.resolve(
        Ticket.objects.get(pk=paid.pk),
        w.xavier,
        Ticket.Resolution.REPAIR_CENTRE,
        said("Card reader replaced at the centre."),
    )
    t["repair_receipt"] = paid


def _routed_by_the_task(ticket: Ticket) -> Ticket:
    """Routed as the worker does it: assigned if its queue assigns, then linked to an
    incident or counted towards one (outages.detection)."""
    tasks.route_ticket(ticket.pk)
    return Ticket.objects.get(pk=ticket.pk)


def _outages(lived: LivedIn, file) -> None:  # noqa: ANN001 - the world's filer
    """Provider X's incidents in shop A's city, one of each status, and planned maintenance:
    tickets linked as detected and by "Me too", downtime open and ended, offline sales."""
    w = lived.world
    said = lived.said
    x = w.provider_x
    now = timezone.now()
    Merchant.objects.filter(pk=w.merchant_a.pk).update(district="Pudong")
    w.merchant_a.refresh_from_db()
    # Two more shops of the city with one of X's terminals each: three shops make an
    # incident (Provider.incident_shops).
    neighbours = []
    for name, district in (("Noodle Bar C", "Pudong"), ("Tea House D", "Xuhui")):
        shop = MerchantFactory(name=name, city=w.merchant_a.city, district=district)
        owner = member_of(UserFactory(), merchant=shop)
        device = DeviceFactory(merchant=shop, provider=x, acquirer=x, location="Till")
        neighbours.append((device, owner))

    def neighbour_files(category: str, symptom: str) -> None:
        for device, owner in neighbours:
            ticket, _created = services.file_ticket(
                merchant=device.merchant,
                device=device,
                reporter=owner,
                category=category,
                symptom=symptom,
                can_take_payments=Ticket.Payments.NO,
                description=said("Same here, since the morning."),
                callback_phone="+86 138 0000 3333",
            )
            _routed_by_the_task(ticket)

    d = lived.devices
    d["counter"] = DeviceFactory(
        merchant=w.merchant_a, provider=x, acquirer=x, location="Counter 2"
    )
    t = lived.tickets

    # Suspected: three shops cannot use the mobile network; shop A stopped before it filed.
    t["incident_suspected"] = _routed_by_the_task(
        file(d["counter"], "network", "mobile", payments_down_since=now - timedelta(minutes=40))
    )
    neighbour_files("network", "mobile")
    suspected = Incident.objects.get(status=Incident.Status.SUSPECTED, group="mobile")
    for method, note, last4 in (
        (OfflineSale.Method.CASH, "", ""),
        (OfflineSale.Method.QR, said("Two coffees, receipt 0113"), ""),
        (OfflineSale.Method.BACKUP, "", "4242"),
    ):
        outages.log_sale(
            t["incident_suspected"],
            w.alice,
            sold_at=now - timedelta(minutes=20),
            amount=Decimal("36.50"),
            method=method,
            note=note,
            card_last4=last4,
        )

    # Confirmed, with an update for the shops and a note for the provider only.
    t["incident_confirmed"] = _routed_by_the_task(file(d["verified"], "software", "update"))
    neighbour_files("software", "update")
    confirmed = Incident.objects.get(status=Incident.Status.SUSPECTED, group="update")
    outages.confirm(confirmed, w.xavier, said("Version 4.2 stops at start-up."))
    outages.post_update(
        confirmed,
        w.xavier,
        said("A fixed version goes out at six."),
        "修复版本六点发布。",
        next_update_at=now + timedelta(hours=2),
    )
    outages.post_update(
        confirmed, w.xavier, said("The vendor's build server is slow."), public=False
    )
    for update in confirmed.updates.filter(public=True):
        fan_out(update.pk)
    # "Me too" from another of shop A's terminals; back to card payments on the first.
    t["me_too"] = _routed_by_the_task(
        outages.me_too(confirmed, merchant=w.merchant_a, device=d["ending"], user=w.alice)
    )
    outages.log_sale(
        t["incident_confirmed"],
        w.alice,
        sold_at=now - timedelta(minutes=5),
        amount=Decimal("120.00"),
        method=OfflineSale.Method.CASH,
    )
    outages.payments_back(t["incident_confirmed"], w.alice)

    # Declared by a technician, then resolved: its tickets are resolved with it.
    t["incident_resolved"] = _routed_by_the_task(file(d["verified"], "network", "cable"))
    resolved = outages.declare(
        provider=x,
        user=w.xavier,
        category="network",
        symptoms=["cable"],
        city=w.merchant_a.city,
        summary=said("A fibre was cut in the street"),
        summary_zh_hans="街道光缆被挖断",
    )
    outages.resolve(resolved, w.xavier, said("The fibre is spliced again."))
    fan_out(resolved.updates.get(kind=IncidentUpdate.Kind.RESOLVED).pk)

    # Planned maintenance, still to come.
    start = now + timedelta(days=2)
    maintenance = outages.declare(
        provider=x,
        user=w.xavier,
        category="transaction",
        city=w.merchant_a.city,
        district="Pudong",
        summary=said("The payment host is upgraded overnight"),
        starts_at=start,
        ends_at=start + timedelta(hours=3),
        maintenance=True,
    )
    lived.incidents.update(
        suspected=suspected, confirmed=confirmed, resolved=resolved, maintenance=maintenance
    )


def _assigned_automatically(lived: LivedIn, file) -> None:  # noqa: ANN001 - the world's filer
    """X's warranty repair queue keeps office hours and gives each routed ticket to a
    technician on duty."""
    w = lived.world
    nine, six = time(9), time(18)
    days = ("mon", "tue", "wed", "thu", "fri")
    calendar = BusinessCalendar.objects.create(
        name="Office week",
        **{f"{day}_opens": nine for day in days},
        **{f"{day}_closes": six for day in days},
    )
    Holiday.objects.create(
        calendar=calendar, date=timezone.localdate() + timedelta(days=30), name="Founders' Day"
    )
    Queue.objects.filter(provider=w.provider_x, kind=Queue.Kind.WARRANTY_REPAIR).update(
        calendar=calendar, assignment=Queue.Assignment.ROUND_ROBIN, p1_reassign_minutes=30
    )
    Membership.objects.filter(user__in=[w.xavier, w.xena]).update(on_duty=True)
    # Xavier manages X: its canned replies' pages are his to read in both languages.
    Membership.objects.filter(user=w.xavier).update(manager=True)
    CannedReply.objects.create(
        provider=w.provider_x,
        title=lived.said("Restart first"),
        body=lived.said("Hello {merchant}, please restart the terminal. {technician}"),
        body_zh_hans=lived.said("{merchant}您好，请先重启终端。{technician}"),
    )
    # Xavier's own filter of the queue, on /work/ and beside the queue with its count.
    SavedView.objects.create(
        user=w.xavier,
        queue=Queue.objects.get(provider=w.provider_x, kind=Queue.Kind.WARRANTY_REPAIR),
        name=lived.said("Late ones"),
        params={"overdue": "on"},
    )
    _webhook(lived)
    ticket = _routed_by_the_task(file(lived.devices["verified"], "hardware", "power"))
    assert ticket.auto_assigned_at is not None
    lived.tickets["auto_assigned"] = ticket


def _webhook(lived: LivedIn) -> None:
    """X's manager keeps a webhook: one delivery delivered, one that failed and waits.
    Its body and the endpoint's answer are data (JSON, the CRM's words)."""
    from webhooks.models import Delivery, DeliveryAttempt, Endpoint

    w = lived.world
    endpoint = Endpoint.objects.create(
        provider=w.provider_x,
        url="https://crm.example.com/posdesk",
        description=lived.said("Our CRM"),
        events=["ticket.routed", "ticket.resolved"],
        # Paused: the tickets routed after this write no deliveries of their own.
        active=False,
    )
    for n, (status, code) in enumerate((("delivered", 200), ("pending", 500))):
        delivery = Delivery.objects.create(
            endpoint=endpoint,
            event="ticket.routed",
            source=f"lived:{n}",
            body=lived.said(f'{{"id": "{n}", "event": "ticket.routed", "data": {{}}}}'),
            status=status,
            attempts=1,
            last_status_code=code,
        )
        lived.said(str(delivery.uuid))
        DeliveryAttempt.objects.create(
            delivery=delivery,
            status_code=code,
            duration_ms=42,
            response=lived.said("accepted" if code == 200 else "upstream down"),
        )


def _fail_routing(ticket: Ticket) -> Ticket:
    """Routing that raised ROUTING_MAX_ATTEMPTS times: flagged for an admin."""
    with mock.patch("tickets.routing.decide", side_effect=RuntimeError("broker gone")):
        for _attempt in range(settings.ROUTING_MAX_ATTEMPTS):
            with contextlib.suppress(RuntimeError):
                routing.route(ticket.pk)
    return ticket


def set_language(user: User | None, language: str) -> None:
    if user is not None:
        User.objects.filter(pk=user.pk).update(language=language)
        user.language = language
