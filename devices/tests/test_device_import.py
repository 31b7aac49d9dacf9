"""The import pages: upload → preview of every row → confirm imports all in one go."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from conftest import World
from devices.models import Device, DeviceModel
from devices.views import IMPORT_SESSION_KEY
from tests.factories import BrandFactory, DeviceModelFactory

URL = reverse("devices:import")
HEADER = "brand,model,serial,purchase date,provider,acquirer,location\n"


@pytest.fixture
def catalogue(world: World) -> World:
    DeviceModelFactory(brand=BrandFactory(name="PAX"), name="A920")
    return world


def upload(text: str, *, bom: bool = False) -> SimpleUploadedFile:
    data = text.encode("utf-8-sig" if bom else "utf-8")
    return SimpleUploadedFile("terminals.csv", data, content_type="text/csv")


GOOD = (
    HEADER
    + "PAX,A920,IMP-1,2026-01-05,Provider X,Provider X,Till 1\nPAX,A920,IMP-2,,Provider X,,\n"
)


def test_it_shows_the_upload_form(world: World, as_user) -> None:  # noqa: ANN001
    response = as_user(world.alice).get(URL)
    assert response.status_code == 200
    assert 'enctype="multipart/form-data"' in response.text


def test_the_preview_lists_every_bad_row_and_imports_nothing(catalogue: World, as_user) -> None:  # noqa: ANN001
    text = HEADER + (
        "PAX,A920,OK-1,2026-01-05,Provider X,,\n"
        "Acme,A920,BAD-1,2026-01-05,Provider X,,\n"
        "PAX,A920,BAD-2,05/01/2026,Provider X,,\n"
        "PAX,A920,,2026-01-05,Provider X,,\n"
    )
    before = Device.objects.count()
    client = as_user(catalogue.alice)
    response = client.post(URL, {"file": upload(text)})
    assert response.status_code == 200
    assert "Unknown brand “Acme”" in response.text
    assert "YYYY-MM-DD" in response.text
    assert "serial number is missing" in response.text
    assert "3 of 4 rows have problems" in response.text
    assert 'name="confirm"' not in response.text
    assert Device.objects.count() == before
    assert IMPORT_SESSION_KEY not in client.session


def test_a_good_file_is_previewed_then_imported_in_one_go(catalogue: World, as_user) -> None:  # noqa: ANN001
    client = as_user(catalogue.alice)
    preview = client.post(URL, {"file": upload(GOOD, bom=True)})
    assert "Import 2 terminals" in preview.text
    assert not Device.objects.filter(serial_number__startswith="IMP-").exists()

    response = client.post(URL, {"confirm": "1", "digest": preview.context["digest"]})

    assert response.status_code == 302
    assert response.url == reverse("devices:list")
    imported = Device.objects.filter(serial_number__startswith="IMP-")
    assert imported.count() == 2
    assert set(imported.values_list("merchant", flat=True)) == {catalogue.merchant_a.pk}
    assert IMPORT_SESSION_KEY not in client.session


def test_confirming_twice_imports_once(catalogue: World, as_user) -> None:  # noqa: ANN001
    client = as_user(catalogue.alice)
    digest = client.post(URL, {"file": upload(GOOD)}).context["digest"]
    client.post(URL, {"confirm": "1", "digest": digest})
    again = client.post(URL, {"confirm": "1", "digest": digest})
    assert again.status_code == 302
    assert Device.objects.filter(serial_number__startswith="IMP-").count() == 2


def test_a_confirm_with_a_stale_digest_imports_nothing(catalogue: World, as_user) -> None:  # noqa: ANN001
    client = as_user(catalogue.alice)
    client.post(URL, {"file": upload(GOOD)})
    response = client.post(URL, {"confirm": "1", "digest": "0" * 64})
    assert response.status_code == 302
    assert response.url == URL
    assert not Device.objects.filter(serial_number__startswith="IMP-").exists()


def test_a_serial_registered_between_preview_and_confirm_is_reported(
    catalogue: World,
    as_user,  # noqa: ANN001
) -> None:
    client = as_user(catalogue.alice)
    digest = client.post(URL, {"file": upload(GOOD)}).context["digest"]
    pax_a920 = DeviceModel.objects.get(brand__name="PAX", name="A920")
    Device.objects.create(
        merchant=catalogue.merchant_a,
        provider=catalogue.provider_x,
        model=pax_a920,
        serial_number="IMP-2",
    )
    response = client.post(URL, {"confirm": "1", "digest": digest})
    assert response.status_code == 200
    assert "already registered" in response.text
    assert not Device.objects.filter(serial_number="IMP-1").exists()


def test_another_shops_serial_registered_meanwhile_is_held_for_a_check(
    catalogue: World,
    as_user,  # noqa: ANN001
) -> None:
    client = as_user(catalogue.alice)
    digest = client.post(URL, {"file": upload(GOOD)}).context["digest"]
    pax_a920 = DeviceModel.objects.get(brand__name="PAX", name="A920")
    Device.objects.create(
        merchant=catalogue.merchant_b,
        provider=catalogue.provider_y,
        model=pax_a920,
        serial_number="IMP-2",
    )
    response = client.post(URL, {"confirm": "1", "digest": digest}, follow=True)
    assert "already registered" not in response.text
    assert "1 terminal imported" in response.text
    assert "needs a check by the PosDesk team" in response.text
    assert Device.objects.get(serial_number="IMP-1").merchant == catalogue.merchant_a
    assert catalogue.merchant_a.registration_reviews.get().serial_number == "IMP-2"


def test_a_file_that_is_not_utf8_gets_a_message_at_the_field(catalogue: World, as_user) -> None:  # noqa: ANN001
    bad = SimpleUploadedFile("t.csv", (HEADER + "PAX,A920,收银,,Provider X,,\n").encode("gb18030"))
    response = as_user(catalogue.alice).post(URL, {"file": bad})
    assert response.status_code == 200
    assert "UTF-8" in response.context["form"].errors["file"][0]


def test_a_merchant_cannot_confirm_another_merchants_upload(catalogue: World, as_user) -> None:  # noqa: ANN001
    alice = as_user(catalogue.alice)
    digest = alice.post(URL, {"file": upload(GOOD)}).context["digest"]
    response = as_user(catalogue.bob).post(URL, {"confirm": "1", "digest": digest})
    assert response.status_code == 302
    assert not Device.objects.filter(serial_number__startswith="IMP-").exists()


def test_it_is_404_for_a_technician(catalogue: World, as_user) -> None:  # noqa: ANN001
    client = as_user(catalogue.xavier)
    assert client.get(URL).status_code == 404
    assert client.post(URL, {"file": upload(GOOD)}).status_code == 404


def test_it_sends_anonymous_visitors_to_log_in(world: World, client) -> None:  # noqa: ANN001
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
