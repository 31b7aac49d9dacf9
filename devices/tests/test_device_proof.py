from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from conftest import World
from devices.models import Device
from devices.tests.helpers import PDF_BYTES


def url(pk: int) -> str:
    return reverse("devices:proof", args=[pk])


@pytest.fixture
def with_proof(world: World, settings, tmp_path) -> Device:  # noqa: ANN001
    settings.MEDIA_ROOT = tmp_path
    world.device_a.proof_of_purchase.save("x.pdf", ContentFile(PDF_BYTES))
    return world.device_a


def test_it_sends_the_proof_as_an_attachment(world: World, as_user, with_proof: Device) -> None:  # noqa: ANN001
    response = as_user(world.alice).get(url(with_proof.pk))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == PDF_BYTES


def test_the_detail_page_links_to_it(world: World, as_user, with_proof: Device) -> None:  # noqa: ANN001
    response = as_user(world.alice).get(reverse("devices:detail", args=[with_proof.pk]))
    assert url(with_proof.pk) in response.text


def test_it_is_404_without_a_proof(world: World, as_user) -> None:  # noqa: ANN001
    assert as_user(world.alice).get(url(world.device_a.pk)).status_code == 404


def test_it_refuses_another_merchants_device(world: World, as_user, with_proof: Device) -> None:  # noqa: ANN001
    assert as_user(world.bob).get(url(with_proof.pk)).status_code == 404


def test_it_is_404_for_a_technician(world: World, as_user, with_proof: Device) -> None:  # noqa: ANN001
    assert as_user(world.xavier).get(url(with_proof.pk)).status_code == 404


def test_it_sends_anonymous_visitors_to_log_in(world: World, client, with_proof: Device) -> None:  # noqa: ANN001
    response = client.get(url(with_proof.pk))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
