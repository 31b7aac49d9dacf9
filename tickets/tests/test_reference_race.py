"""Ticket references are unique under concurrent filing (PostgreSQL, real threads)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from tests.factories import DeviceFactory
from tickets import services
from tickets.models import Category, Ticket, format_reference

THREADS = 8


def test_reference_is_derived_from_the_primary_key(world) -> None:
    ticket, _created = services.file_ticket(
        merchant=world.merchant_a,
        device=world.device_a,
        reporter=world.alice,
        category=Category.HARDWARE,
        symptom="screen",
        can_take_payments="no",
        description="Dark",
        callback_phone="123456",
    )
    assert ticket.reference == format_reference(ticket.pk)
    assert Ticket.objects.get(pk=ticket.pk).reference == ticket.reference
    assert format_reference(123) == "PD-000123"
    assert format_reference(1234567) == "PD-1234567"


@pytest.mark.django_db(transaction=True)
def test_parallel_filings_get_distinct_references(world) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the race needs a real concurrent database")
    # One terminal each: a terminal has one open ticket per fault, and the race here is
    # for references, across the whole table.
    devices = [
        DeviceFactory(merchant=world.merchant_a, provider=world.provider_x) for _ in range(THREADS)
    ]
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []
    references: list[str] = []
    lock = threading.Lock()

    def file_one(n: int) -> None:
        try:
            barrier.wait(timeout=10)
            ticket, _created = services.file_ticket(
                merchant=world.merchant_a,
                device=devices[n],
                reporter=world.alice,
                category=Category.HARDWARE,
                symptom="screen",
                can_take_payments="no",
                description=f"Parallel filing {n}",
                callback_phone="123456",
            )
            with lock:
                references.append(ticket.reference)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=file_one, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len(references) == THREADS
    assert len(set(references)) == THREADS
    assert Ticket.objects.filter(reference__in=references).count() == THREADS
    assert not Ticket.objects.filter(reference__isnull=True).exists()


@pytest.mark.django_db
def test_the_database_writes_the_reference_of_a_seven_digit_id(world) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the trigger of migration 0020 is PostgreSQL's")
    ticket, _created = services.file_ticket(
        merchant=world.merchant_a,
        device=world.device_a,
        reporter=world.alice,
        category=Category.HARDWARE,
        symptom="screen",
        can_take_payments="no",
        description="Dark",
        callback_phone="123456",
    )
    with connection.cursor() as cursor:
        # Sequences are not rolled back: put it back afterwards, so the tests after this
        # one see ids as small as before (their pages read tickets by id windows).
        cursor.execute("SELECT last_value FROM tickets_ticket_id_seq")
        (before,) = cursor.fetchone()
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('tickets_ticket', 'id'),"
            " greatest(1234566, (SELECT max(id) FROM tickets_ticket)))"
        )
    twin = Ticket.objects.create(
        merchant=world.merchant_a,
        device=world.device_a,
        reporter=world.alice,
        category=Category.NETWORK,
        symptom="wifi",
        can_take_payments="yes",
        description="Slow",
        priority=3,
        callback_phone="123456",
    )
    assert twin.pk >= 1234567
    assert twin.reference == f"PD-{twin.pk}" == Ticket.objects.get(pk=twin.pk).reference
    # A reference given explicitly (the bench seeder) is kept.
    given = Ticket.objects.create(
        merchant=world.merchant_a,
        device=world.device_a,
        reporter=world.alice,
        category=Category.SOFTWARE,
        symptom="frozen",
        can_take_payments="yes",
        description="Frozen",
        priority=3,
        callback_phone="123456",
        reference="PD-IMPORTED",
    )
    assert Ticket.objects.get(pk=given.pk).reference == "PD-IMPORTED"
    assert ticket.reference == format_reference(ticket.pk)
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval('tickets_ticket_id_seq', %s)", [before])
