"""The provider's warranty register: upload → preview of every row → confirm applies it
all in one transaction, verifying the provider's own matching terminals."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from conftest import World
from devices import register
from devices.models import Device, WarrantyRegisterEntry
from devices.register import Outcome, apply_register, check_register_csv
from devices.tests.helpers import device_post
from devices.views_register import SESSION_KEY
from devices.warranty import WarrantyCheck, WarrantySource
from tests.factories import UserFactory

URL = reverse("terminals:register")
CONFIRM = reverse("terminals:register_confirm")
HEADER = "serial,brand,sold on,warranty end\n"
CARD = "4111 1111 1111 1111"
TODAY = timezone.localdate()
END = TODAY + timedelta(days=400)


def upload(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("register.csv", text.encode("utf-8-sig"), content_type="text/csv")


def line(device: Device, *, end: date = END, sold: date | None = None) -> str:
    sold_on = sold.isoformat() if sold else ""
    return f"{device.serial_number.lower()},{device.model.brand.name},{sold_on},{end.isoformat()}\n"


def claim(device: Device, *, end: date | None) -> Device:
    """The terminal as the merchant left it: an unverified claim."""
    device.warranty_end = end
    device.warranty_check = WarrantyCheck.CLAIMED
    device.warranty_checked_at = None
    device.warranty_source = ""
    device.save()
    return device


def state(device: Device) -> tuple[object, ...]:
    device.refresh_from_db()
    return (
        device.warranty_end,
        device.warranty_check,
        device.warranty_source,
        device.warranty_checked_by_id,
        device.warranty_checked_at,
        device.history.count(),
    )


def preview_and_confirm(client, text: str):  # noqa: ANN001, ANN201
    preview = client.post(URL, {"file": upload(text)})
    assert preview.context["preview"].is_valid, preview.context["preview"].bad_rows
    return client.post(CONFIRM, {"confirm": "1", "digest": preview.context["digest"]})


# --- Applying the register ----------------------------------------------------------------


def test_the_register_verifies_the_providers_terminal_with_a_history_row_by_the_uploader(
    world: World,
    as_user,  # noqa: ANN001
) -> None:
    device = claim(world.device_a, end=TODAY + timedelta(days=30))
    response = preview_and_confirm(as_user(world.xavier), HEADER + line(device))

    assert response.status_code == 200
    device.refresh_from_db()
    assert device.warranty_end == END
    assert device.warranty_check == WarrantyCheck.VERIFIED
    assert device.warranty_source == WarrantySource.REGISTER
    assert device.warranty_checked_by == world.xavier
    assert device.warranty_checked_at is not None
    last = device.history.latest()
    assert last.history_user == world.xavier
    assert last.history_change_reason == register.CHANGE_REASON
    assert last.warranty_end == END
    assert [m.device.pk for m in response.context["result"].verified] == [device.pk]
    entry = WarrantyRegisterEntry.objects.get()
    assert (entry.provider, entry.brand, entry.serial) == (
        world.provider_x,
        device.model.brand,
        device.serial_number,
    )
    assert (entry.warranty_end, entry.imported_by) == (END, world.xavier)


def test_the_history_names_the_uploader_outside_a_request_too(world: World) -> None:
    device = claim(world.device_a, end=TODAY + timedelta(days=30))

    apply_register(HEADER + line(device), world.provider_x, world.xena)

    last = device.history.latest()
    assert (last.history_user, last.warranty_check) == (world.xena, WarrantyCheck.VERIFIED)


def test_the_claims_that_differ_are_listed(world: World, as_user) -> None:  # noqa: ANN001
    claimed_end = TODAY + timedelta(days=700)
    device = claim(world.device_a, end=claimed_end)
    response = preview_and_confirm(as_user(world.xavier), HEADER + line(device))

    result = response.context["result"]
    assert [(m.device.pk, m.claimed_end, m.register_end) for m in result.differing] == [
        (device.pk, claimed_end, END)
    ]
    page = response.text
    assert world.merchant_a.name in page
    assert device.serial_number in page
    assert claimed_end.isoformat() in page
    assert END.isoformat() in page
    # Verified all the same: the register is the provider's word.
    device.refresh_from_db()
    assert (device.warranty_end, device.warranty_check) == (END, WarrantyCheck.VERIFIED)


def test_a_purchase_date_far_from_the_sale_date_is_a_claim_that_differs(world: World) -> None:
    device = claim(world.device_a, end=END)  # the same end...
    far = device.purchase_date - register.SALE_DATE_SLACK - timedelta(days=1)
    near = device.purchase_date - register.SALE_DATE_SLACK

    assert check_register_csv(HEADER + line(device, sold=near), world.provider_x).rows[
        0
    ].outcome == (Outcome.VERIFIES)
    # ...but sold long before the shop says it bought it.
    result = apply_register(HEADER + line(device, sold=far), world.provider_x, world.xavier)
    assert [m.device.pk for m in result.differing] == [device.pk]


def test_a_purchase_after_the_registers_end_is_listed_and_left_a_claim(world: World) -> None:
    device = claim(world.device_a, end=TODAY + timedelta(days=300))
    end = device.purchase_date - timedelta(days=1)
    before = state(device)

    result = apply_register(HEADER + line(device, end=end), world.provider_x, world.xavier)

    assert result.applied
    assert [(m.device.pk, m.outcome) for m in result.differing] == [(device.pk, Outcome.CONFLICT)]
    assert result.verified == []
    assert state(device) == before
    assert WarrantyRegisterEntry.objects.get().warranty_end == end


def test_the_latest_upload_replaces_the_entry_for_a_serial(world: World) -> None:
    device = world.device_a
    apply_register(HEADER + line(device, end=END), world.provider_x, world.xavier)
    later = END + timedelta(days=90)
    apply_register(HEADER + line(device, end=later), world.provider_x, world.xena)

    entry = WarrantyRegisterEntry.objects.get()
    assert (entry.warranty_end, entry.imported_by) == (later, world.xena)
    device.refresh_from_db()
    assert (device.warranty_end, device.warranty_checked_by) == (later, world.xena)


def test_re_uploading_the_same_file_is_idempotent(world: World, as_user) -> None:  # noqa: ANN001
    claim(world.device_a, end=TODAY + timedelta(days=30))
    text = HEADER + line(world.device_a) + f"NOT-YET-1,{world.device_a.model.brand.name},,{END}\n"
    client = as_user(world.xavier)
    preview_and_confirm(client, text)
    after_first = state(world.device_a)
    entries = list(WarrantyRegisterEntry.objects.values_list("brand", "serial", "warranty_end"))

    response = preview_and_confirm(client, text)

    assert state(world.device_a) == after_first  # no new write, no new history row
    assert (
        list(WarrantyRegisterEntry.objects.values_list("brand", "serial", "warranty_end"))
        == entries
    )
    result = response.context["result"]
    assert (result.verified, result.differing, result.unchanged_count) == ([], [], 1)


# --- Bad files, and the preview, write nothing ----------------------------------------------


def test_a_bad_row_blocks_the_whole_file_and_is_shown_with_its_reason(
    world: World,
    as_user,  # noqa: ANN001
) -> None:
    device = claim(world.device_a, end=TODAY + timedelta(days=30))
    brand = device.model.brand.name
    text = HEADER + (
        line(device)
        + f"X-1,Acme,,{END}\n"
        + f"X-2,{brand},,01/02/2027\n"
        + f"X-3,{brand},,\n"
        + f"X-4,{brand},2026-05-01,2026-04-30\n"
        + f"X-5,{brand},,{END}\n"
        + f"x-5,{brand},,{END}\n"
        + f"{CARD},{brand},,{END}\n"
    )
    before = state(device)
    client = as_user(world.xavier)

    response = client.post(URL, {"file": upload(text)})

    assert response.status_code == 200
    page = response.text
    assert "Unknown brand “Acme”" in page
    assert "“01/02/2027” is not a date written YYYY-MM-DD" in page
    assert "The warranty end is missing." in page
    assert "The warranty ends before the ship or sale date." in page
    assert "X-5 is also on line 8" in page
    assert "PCI DSS" in page
    assert CARD not in page  # refused, and not repeated back either
    assert "7 of 8 rows have problems" in page
    assert 'name="confirm"' not in page
    # Bad rows first, each with its reason in the same row.
    preview = response.context["preview"]
    assert [r.line for r in preview.rows_bad_first] == [3, 4, 5, 6, 7, 8, 9, 2]
    assert SESSION_KEY not in client.session
    assert state(device) == before
    assert not WarrantyRegisterEntry.objects.exists()

    # And applied directly, the service writes nothing either.
    result = apply_register(text, world.provider_x, world.xavier)
    assert not result.applied
    assert state(device) == before
    assert not WarrantyRegisterEntry.objects.exists()


def test_the_preview_of_a_good_file_writes_nothing(world: World, as_user) -> None:  # noqa: ANN001
    device = claim(world.device_a, end=END)
    before = state(device)

    response = as_user(world.xavier).post(URL, {"file": upload(HEADER + line(device))})

    assert response.status_code == 200
    assert "Verifies terminal" in response.text
    assert 'name="confirm"' in response.text
    assert response.context["preview"].counts["verifies"] == 1
    assert state(device) == before
    assert not WarrantyRegisterEntry.objects.exists()


def test_a_file_made_invalid_since_its_preview_writes_nothing(world: World, as_user) -> None:  # noqa: ANN001
    device = claim(world.device_a, end=TODAY + timedelta(days=30))
    before = state(device)
    client = as_user(world.xavier)
    preview = client.post(URL, {"file": upload(HEADER + line(device))})
    brand = device.model.brand
    brand.name = "Renamed"
    brand.save()

    response = client.post(CONFIRM, {"confirm": "1", "digest": preview.context["digest"]})

    assert response.status_code == 200
    assert "Unknown brand" in response.text
    assert state(device) == before
    assert not WarrantyRegisterEntry.objects.exists()


def test_a_failure_while_applying_rolls_back_the_entries_too(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    device = claim(world.device_a, end=TODAY + timedelta(days=30))
    before = state(device)

    def fail(*args: object, **kwargs: object) -> None:
        raise IntegrityError("simulated")

    monkeypatch.setattr(register, "bulk_update_with_history", fail)
    with pytest.raises(IntegrityError):
        apply_register(HEADER + line(device), world.provider_x, world.xavier)

    assert not WarrantyRegisterEntry.objects.exists()
    assert state(device) == before


def test_confirming_a_digest_that_is_not_waiting_writes_nothing(world: World, as_user) -> None:  # noqa: ANN001
    device = claim(world.device_a, end=TODAY + timedelta(days=30))
    before = state(device)
    client = as_user(world.xavier)
    preview = client.post(URL, {"file": upload(HEADER + line(device))})

    # Another technician of the same provider cannot confirm xavier's upload...
    response = as_user(world.xena).post(
        CONFIRM, {"confirm": "1", "digest": preview.context["digest"]}
    )
    assert response.status_code == 302
    assert response.url == URL
    # ...nor can xavier confirm another file than the one previewed.
    response = client.post(CONFIRM, {"confirm": "1", "digest": "0" * 64})
    assert response.status_code == 302
    assert SESSION_KEY in client.session  # still waiting for its own digest
    assert state(device) == before
    assert not WarrantyRegisterEntry.objects.exists()


# --- Scope -------------------------------------------------------------------------------------


def test_another_providers_terminal_with_the_same_serial_is_untouched(
    world: World,
    as_user,  # noqa: ANN001
) -> None:
    theirs = claim(world.device_b, end=TODAY + timedelta(days=30))  # provider Y's
    before = state(theirs)
    client = as_user(world.xavier)

    preview = client.post(URL, {"file": upload(HEADER + line(theirs))})

    assert preview.context["preview"].rows[0].outcome == Outcome.NO_TERMINAL
    assert world.merchant_b.name not in preview.text  # not even named
    response = client.post(CONFIRM, {"confirm": "1", "digest": preview.context["digest"]})
    assert response.context["result"].matches == []
    assert state(theirs) == before
    # The entry is in X's register only, and never verifies Y's terminal later.
    assert WarrantyRegisterEntry.objects.get().provider == world.provider_x
    response = as_user(world.bob).post(
        reverse("devices:edit", args=[theirs.pk]),
        device_post(
            world,
            model=theirs.model.pk,
            serial_number=theirs.serial_number,
            provider=world.provider_y.pk,
            acquirer=world.provider_y.pk,
            purchase_date=(theirs.purchase_date - timedelta(days=1)).isoformat(),
        ),
    )
    assert response.status_code == 302
    theirs.refresh_from_db()
    assert theirs.warranty_check == WarrantyCheck.CLAIMED


@pytest.mark.parametrize("who", ["alice", "admin"])
@pytest.mark.parametrize("url", [URL, CONFIRM])
def test_it_is_404_for_anyone_but_a_technician(world: World, as_user, who: str, url: str) -> None:  # noqa: ANN001
    client = as_user(getattr(world, who))
    assert client.get(url).status_code == (404 if url == URL else 405)
    response = client.post(url, {"file": upload(HEADER + line(world.device_a)), "digest": "x"})
    assert response.status_code == 404
    assert not WarrantyRegisterEntry.objects.exists()


def test_it_is_404_for_a_user_with_no_role(world: World, as_user) -> None:  # noqa: ANN001
    assert as_user(UserFactory(username="nobody")).get(URL).status_code == 404


def test_a_technicians_pending_upload_does_not_follow_them_to_another_provider(
    world: World,
    as_user,  # noqa: ANN001
) -> None:
    client = as_user(world.xavier)
    preview = client.post(URL, {"file": upload(HEADER + line(world.device_a))})
    membership = world.xavier.membership
    membership.provider = world.provider_y
    membership.save()

    response = client.post(CONFIRM, {"confirm": "1", "digest": preview.context["digest"]})

    assert response.status_code == 302
    assert not WarrantyRegisterEntry.objects.exists()


def test_the_upload_form_is_shown_to_a_technician(world: World, as_user) -> None:  # noqa: ANN001
    response = as_user(world.yuri).get(URL)
    assert response.status_code == 200
    assert 'enctype="multipart/form-data"' in response.text
    assert world.provider_y.name in response.text


# --- Terminals registered after the upload --------------------------------------------------


@pytest.fixture
def registered(world: World) -> WarrantyRegisterEntry:
    """NEW-0001 (the serial of helpers.device_post) is in provider X's register."""
    apply_register(
        HEADER + f"NEW-0001,{world.device_a.model.brand.name},,{END}\n",
        world.provider_x,
        world.xavier,
    )
    return WarrantyRegisterEntry.objects.get()


def test_a_terminal_registered_later_is_verified_from_the_register(
    world: World,
    registered: WarrantyRegisterEntry,
    as_user,  # noqa: ANN001
) -> None:
    response = as_user(world.alice).post(reverse("devices:new"), device_post(world))

    assert response.status_code == 302
    device = Device.objects.get(serial_number="NEW-0001")
    assert device.warranty_end == END
    assert device.warranty_check == WarrantyCheck.VERIFIED
    assert device.warranty_source == WarrantySource.REGISTER
    assert device.warranty_checked_by == world.xavier
    created = device.history.get()
    assert created.history_user == world.alice
    assert created.warranty_check == WarrantyCheck.VERIFIED


def test_a_terminal_re_claimed_later_is_verified_from_the_register(
    world: World,
    registered: WarrantyRegisterEntry,
    as_user,  # noqa: ANN001
) -> None:
    device = world.device_a
    device.serial_number = "OLD-1"
    device.warranty_check = WarrantyCheck.REJECTED
    device.warranty_check_note = "Another terminal's receipt"
    device.save()

    # The merchant corrects the serial it typed: a new claim, which the register settles.
    as_user(world.alice).post(
        reverse("devices:edit", args=[device.pk]),
        device_post(world, purchase_date=device.purchase_date.isoformat()),
    )

    device.refresh_from_db()
    assert device.serial_number == "NEW-0001"
    assert (device.warranty_end, device.warranty_check) == (END, WarrantyCheck.VERIFIED)


def test_a_terminal_of_another_provider_is_not_verified_from_this_register(
    world: World,
    registered: WarrantyRegisterEntry,
    as_user,  # noqa: ANN001
) -> None:
    as_user(world.alice).post(
        reverse("devices:new"),
        device_post(world, provider=world.provider_y.pk, acquirer=world.provider_y.pk),
    )
    device = Device.objects.get(serial_number="NEW-0001")
    assert device.warranty_check == WarrantyCheck.CLAIMED


def test_verify_from_register_works_on_an_unsaved_terminal(
    world: World, registered: WarrantyRegisterEntry
) -> None:
    from devices.register import verify_from_register

    device = Device(
        merchant=world.merchant_a,
        provider=world.provider_x,
        model=world.device_a.model,
        serial_number=" new-0001 ",
        purchase_date=TODAY - timedelta(days=10),
        warranty_check=WarrantyCheck.CLAIMED,
    )
    verify_from_register(device)

    assert device.pk is None
    assert (device.warranty_end, device.warranty_check) == (END, WarrantyCheck.VERIFIED)
    assert device.warranty_checked_by_id == world.xavier.pk
    # A purchase after the register's end is left a claim (the database would refuse it).
    late = Device(
        merchant=world.merchant_a,
        provider=world.provider_x,
        model=world.device_a.model,
        serial_number="NEW-0001",
        purchase_date=END + timedelta(days=1),
        warranty_check=WarrantyCheck.CLAIMED,
    )
    verify_from_register(late)
    assert late.warranty_check == WarrantyCheck.CLAIMED


# --- The model ---------------------------------------------------------------------------------


def test_one_entry_per_serial_of_a_brand_in_a_providers_register(
    world: World, registered: WarrantyRegisterEntry
) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        WarrantyRegisterEntry.objects.create(
            provider=registered.provider,
            brand=registered.brand,
            serial=registered.serial,
            warranty_end=END,
        )
    # Another provider's register may list the same serial.
    WarrantyRegisterEntry.objects.create(
        provider=world.provider_y,
        brand=registered.brand,
        serial=registered.serial,
        warranty_end=END,
    )


def test_an_entry_cannot_end_before_its_sale(world: World) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        WarrantyRegisterEntry.objects.create(
            provider=world.provider_x,
            brand=world.device_a.model.brand,
            serial="S-1",
            sold_on=END,
            warranty_end=END - timedelta(days=1),
        )
