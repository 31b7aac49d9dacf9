"""Each action through the API writes what the same action on the web writes: the same
events (kind, visibility, text, facts), the same ticket state; refusals are 409s with the
workflow's own sentence, limits are 429s with Retry-After."""

from __future__ import annotations

from decimal import Decimal

from django.test import Client
from django.urls import reverse

from api.tests.conftest import key_client
from tests.security.conftest import Scenario, routed_ticket
from tickets.models import Queue, Quote, Ticket, TicketEvent


def _events(ticket: Ticket, since: int) -> list[tuple]:
    return [
        (e.kind, e.public, e.body, sorted((e.data or {}).items()), e.actor_id, e.provider_id)
        for e in ticket.events.filter(pk__gt=since).order_by("pk")
    ]


def _last_event(ticket: Ticket) -> int:
    return ticket.events.order_by("-pk").values_list("pk", flat=True).first() or 0


TECHNICIAN_STEPS = [
    ("claim", {}, {}),
    ("note", {"note-body": "Checked the logs."}, {"body": "Checked the logs."}),
    ("reply", {"reply-body": "Restart it, please."}, {"body": "Restart it, please."}),
    ("ask", {"ask-body": "Which error code?"}, {"body": "Which error code?"}),
]


def _twins(scenario: Scenario) -> tuple[Ticket, Ticket]:
    world = scenario.world
    return routed_ticket(world.device_a, world.alice), routed_ticket(world.device_a, world.alice)


def test_technician_actions_write_the_same_events_as_the_web(scenario: Scenario) -> None:
    world = scenario.world
    web_ticket, api_ticket = _twins(scenario)
    web = Client()
    web.force_login(world.xavier)
    api = key_client(world.xavier)
    for name, web_data, api_data in TECHNICIAN_STEPS:
        web_since, api_since = _last_event(web_ticket), _last_event(api_ticket)
        response = web.post(reverse(f"tickets:work_{name}", args=[web_ticket.reference]), web_data)
        assert response.status_code == 302
        response = api.post(
            f"/api/v1/tickets/{api_ticket.reference}/{name}/", api_data, format="json"
        )
        assert response.status_code == 200, response.json()
        assert _events(api_ticket, api_since) == _events(web_ticket, web_since), name
        assert name != "note" or response.json()["timeline"][-1]["kind"] == "note"
    web_ticket.refresh_from_db()
    api_ticket.refresh_from_db()
    assert api_ticket.status == web_ticket.status == Ticket.Status.WAITING_MERCHANT
    assert api_ticket.sla_paused_at is not None


def test_resolve_transfer_and_quote_go_through_the_workflow(scenario: Scenario) -> None:
    world = scenario.world
    api = key_client(world.xavier)
    ticket = routed_ticket(world.device_a, world.alice, Queue.Kind.PAID_REPAIR)
    path = f"/api/v1/tickets/{ticket.reference}/"
    response = api.post(
        path + "quote/", {"amount": "150.00", "covers": "New printer"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert Quote.objects.filter(ticket=ticket, amount=Decimal("150.00")).exists()
    # The merchant accepts through the API, as on its page.
    alice = key_client(world.alice)
    response = alice.post(path + "quote/accept/")
    assert response.status_code == 200, response.json()
    assert ticket.events.filter(kind=TicketEvent.Kind.QUOTE_ACCEPTED, actor=world.alice).exists()
    response = api.post(
        path + "resolve/", {"code": "repair_centre", "note": "Replaced"}, format="json"
    )
    assert response.status_code == 200, response.json()
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.RESOLVED
    # Resolved: a transfer is refused by the workflow's table, in its words.
    other = Queue.objects.get(provider=world.provider_x, kind=Queue.Kind.TRIAGE)
    response = api.post(path + "transfer/", {"queue": other.pk, "reason": "x"}, format="json")
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert "Transfer" in response.json()["detail"]
    # Then the shop's side: reopen, confirm after a second resolve, rate.
    response = alice.post(path + "reopen/", {"reason": "Still jams"}, format="json")
    assert response.status_code == 200, response.json()
    assert ticket.events.filter(kind=TicketEvent.Kind.REOPENED, body="Still jams").exists()
    api.post(path + "resolve/", {"code": "remote_fix", "note": "Cleaned"}, format="json")
    assert alice.post(path + "confirm/").status_code == 200
    response = alice.post(path + "rate/", {"rating": 5, "comment": "Quick"}, format="json")
    assert response.status_code == 200
    ticket.refresh_from_db()
    assert (ticket.status, ticket.rating) == (Ticket.Status.CLOSED, 5)


def test_a_transfer_to_another_provider_leaves_the_callers_scope(scenario: Scenario) -> None:
    world = scenario.world
    ticket = routed_ticket(world.device_a, world.alice)
    triage = Queue.objects.get(provider__isnull=True, kind=Queue.Kind.TRIAGE)
    api = key_client(world.xavier)
    path = f"/api/v1/tickets/{ticket.reference}/"
    response = api.post(
        path + "transfer/", {"queue": triage.pk, "reason": "Not ours"}, format="json"
    )
    assert response.status_code == 204
    assert api.get(path).status_code == 404
    assert ticket.events.filter(kind=TicketEvent.Kind.TRANSFERRED).exists()


def test_the_merchant_reads_no_internal_note(scenario: Scenario) -> None:
    world = scenario.world
    ticket = scenario.ticket_a
    key_client(world.xavier).post(
        f"/api/v1/tickets/{ticket.reference}/note/", {"body": "Secret margin"}, format="json"
    )
    merchant = key_client(world.alice).get(f"/api/v1/tickets/{ticket.reference}/").json()
    assert "Secret margin" not in str(merchant)
    technician = key_client(world.xavier).get(f"/api/v1/tickets/{ticket.reference}/").json()
    assert "Secret margin" in str(technician)


def test_filing_goes_through_the_service_and_is_idempotent(scenario: Scenario) -> None:
    world = scenario.world
    api = key_client(world.alice)
    body = {
        "device": world.device_a.pk,
        "category": "hardware",
        "symptom": "printer",
        "can_take_payments": "degraded",
        "description": "The printer jams.",
        "callback_phone": "+86 138 0000 0000",
        "submission_token": "5b8f6b8e-2f7e-4a4e-9b7a-3f0b8d2a1c11",
    }
    response = api.post("/api/v1/tickets/", body, format="json")
    assert response.status_code == 201, response.json()
    reference = response.json()["reference"]
    ticket = Ticket.objects.get(reference=reference)
    assert ticket.reporter == world.alice
    assert ticket.events.filter(kind=TicketEvent.Kind.FILED).count() == 1
    assert response["Location"].endswith(f"/api/v1/tickets/{reference}/")
    again = api.post("/api/v1/tickets/", body, format="json")
    assert again.status_code == 200
    assert again.json()["reference"] == reference
    assert Ticket.objects.filter(merchant=world.merchant_a, symptom="printer").count() == 1


def test_filing_refuses_a_card_number_and_another_shops_terminal(scenario: Scenario) -> None:
    world = scenario.world
    api = key_client(world.alice)
    body = {
        "device": world.device_b.pk,
        "category": "hardware",
        "symptom": "printer",
        "can_take_payments": "yes",
        "description": "Card 4111 1111 1111 1111 failed",
        "callback_phone": "+86 138 0000 0000",
    }
    response = api.post("/api/v1/tickets/", body, format="json")
    assert response.status_code == 400
    fields = {error["field"] for error in response.json()["errors"]}
    assert {"device", "description"} <= fields
    assert not Ticket.objects.filter(symptom="printer").exists()


def test_the_filing_limit_applies_to_the_api(scenario: Scenario, settings) -> None:  # noqa: ANN001
    settings.RATE_LIMIT_FILING = (1, 600)
    world = scenario.world
    api = key_client(world.alice)
    body = {
        "device": world.device_a.pk,
        "category": "network",
        "symptom": "wifi",
        "can_take_payments": "yes",
        "description": "Offline",
        "callback_phone": "+86 138 0000 0000",
    }
    token = "0b7e4d4e-7c55-4d0e-8a51-6a4f3b3c2d10"
    first = api.post("/api/v1/tickets/", {**body, "submission_token": token}, format="json")
    assert first.status_code == 201
    response = api.post("/api/v1/tickets/", {**body, "file_anyway": True}, format="json")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response.json()["title"] == "Too many requests"
    # A retry of the report filed before still answers its ticket, limit or not.
    again = api.post("/api/v1/tickets/", {**body, "submission_token": token}, format="json")
    assert again.status_code == 200
    assert again.json()["reference"] == first.json()["reference"]
    assert Ticket.objects.filter(merchant=world.merchant_a, symptom="wifi").count() == 1


def _facts(ticket: Ticket, since: int) -> list[tuple]:
    """Events as facts, without the ids that differ between twin tickets (a quote's)."""
    return [
        (kind, public, body, [(k, v) for k, v in data if k != "quote"], actor, provider)
        for kind, public, body, data, actor, provider in _events(ticket, since)
    ]


# (side, web URL name, web form, API path, API body): a billable ticket's whole life.
LIFE = [
    (
        "tech",
        "tickets:work_quote",
        {"quote-amount": "80.00", "quote-covers": "Printer"},
        "quote",
        {"amount": "80.00", "covers": "Printer"},
    ),
    (
        "shop",
        "tickets:reply",
        {"body": "Is it the whole printer?"},
        "reply",
        {"body": "Is it the whole printer?"},
    ),
    ("shop", "tickets:quote_accept", {}, "quote/accept", {}),
    (
        "tech",
        "tickets:work_resolve",
        {"resolve-code": "repair_centre", "resolve-note": "New"},
        "resolve",
        {"code": "repair_centre", "note": "New"},
    ),
    ("shop", "tickets:reopen", {"reason": "Jams again"}, "reopen", {"reason": "Jams again"}),
    (
        "tech",
        "tickets:work_resolve",
        {"resolve-code": "remote_fix", "resolve-note": "Reset"},
        "resolve",
        {"code": "remote_fix", "note": "Reset"},
    ),
    ("shop", "tickets:confirm", {}, "confirm", {}),
    (
        "shop",
        "tickets:rate",
        {"rating": "4", "comment": "Good"},
        "rate",
        {"rating": 4, "comment": "Good"},
    ),
]


def test_a_tickets_whole_life_writes_the_same_events_on_both_paths(scenario: Scenario) -> None:
    world = scenario.world
    web_ticket = routed_ticket(world.device_a, world.alice, Queue.Kind.PAID_REPAIR)
    api_ticket = routed_ticket(world.device_a, world.alice, Queue.Kind.PAID_REPAIR)
    web = {"tech": Client(), "shop": Client()}
    web["tech"].force_login(world.xavier)
    web["shop"].force_login(world.alice)
    api = {"tech": key_client(world.xavier), "shop": key_client(world.alice)}
    for side, name, web_data, path, api_data in LIFE:
        web_since, api_since = _last_event(web_ticket), _last_event(api_ticket)
        response = web[side].post(reverse(name, args=[web_ticket.reference]), web_data)
        assert response.status_code == 302, name
        response = api[side].post(
            f"/api/v1/tickets/{api_ticket.reference}/{path}/", api_data, format="json"
        )
        assert response.status_code == 200, (path, response.json())
        assert _facts(api_ticket, api_since) == _facts(web_ticket, web_since), path
        assert _facts(api_ticket, api_since), path  # each step wrote something
    web_ticket.refresh_from_db()
    api_ticket.refresh_from_db()
    for field in ("status", "rating", "resolution_code", "billable"):
        assert getattr(api_ticket, field) == getattr(web_ticket, field), field


def test_a_transfer_writes_the_same_events_on_both_paths(scenario: Scenario) -> None:
    world = scenario.world
    web_ticket, api_ticket = _twins(scenario)
    triage = Queue.objects.get(provider=world.provider_x, kind=Queue.Kind.TRIAGE)
    web = Client()
    web.force_login(world.xavier)
    web_since, api_since = _last_event(web_ticket), _last_event(api_ticket)
    web.post(
        reverse("tickets:work_transfer", args=[web_ticket.reference]),
        {"transfer-queue": triage.pk, "transfer-reason": "Needs proof"},
    )
    response = key_client(world.xavier).post(
        f"/api/v1/tickets/{api_ticket.reference}/transfer/",
        {"queue": triage.pk, "reason": "Needs proof"},
        format="json",
    )
    assert response.status_code == 200
    assert _facts(api_ticket, api_since) == _facts(web_ticket, web_since)
    assert api_ticket.events.filter(kind=TicketEvent.Kind.TRANSFERRED).count() == 1


def test_the_message_limit_applies_to_both_sides(scenario: Scenario, settings) -> None:  # noqa: ANN001
    settings.RATE_LIMIT_REPLIES = (1, 600)
    world = scenario.world
    path = f"/api/v1/tickets/{scenario.ticket_a.reference}/"
    technician = key_client(world.xavier)
    assert technician.post(path + "note/", {"body": "One"}, format="json").status_code == 200
    refused = technician.post(path + "note/", {"body": "Two"}, format="json")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    shop = key_client(world.alice)
    assert shop.post(path + "reply/", {"body": "Hello"}, format="json").status_code == 200
    assert shop.post(path + "reply/", {"body": "Again"}, format="json").status_code == 429
    bodies = set(scenario.ticket_a.events.values_list("body", flat=True))
    assert {"One", "Hello"} <= bodies
    assert not {"Two", "Again"} & bodies
