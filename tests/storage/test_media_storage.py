"""Uploads on the filesystem and in a private S3 bucket (moto's server): each test runs
on both (the `media` fixture).

Files are stored where MEDIA_STORAGE says, never on the local disk when it says s3;
they are read back only through the views that check the requester's scope, which
stream them with `Cache-Control: private, no-store`; a rolled-back write and a deleted
row leave no object behind; a storage that fails is a message for the merchant, not a
500; `check_media_storage()` (for /readyz) tells a working storage from a broken one.
"""

from __future__ import annotations

import time

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DatabaseError

from conftest import World
from devices.services import add_proof
from portal.env import media_storage_from_env
from portal.storage import StorageUnavailable, atomic_with_uploads, check_media_storage
from tests.s3server import MotoServer
from tests.storage.conftest import Media
from tests.waiting import free_port
from tickets.models import Ticket
from tickets.tests.filing_helpers import PDF, PNG, filing_data, pdf, png

pytestmark = pytest.mark.django_db


def body(response) -> bytes:  # noqa: ANN001
    return b"".join(response.streaming_content)


def file_with_photo(client, world: World) -> Ticket:  # noqa: ANN001
    data = {**filing_data(world.device_a), "attachments": [png("screen.png")]}
    response = client.post("/tickets/new/", data)
    assert response.status_code == 302, response.content[:800]
    return Ticket.objects.get(device=world.device_a)


def test_a_photo_is_stored_where_media_storage_says_and_read_back_through_the_view(
    world: World, media: Media, as_user
) -> None:  # noqa: ANN001
    alice = as_user(world.alice)
    ticket = file_with_photo(alice, world)
    attachment = ticket.attachments.get()
    assert attachment.file.name.startswith("attachments/")
    assert media.files() == {attachment.file.name: PNG}
    if media.kind == "s3":
        # Nothing of it on this machine's disk: another node could not read it there.
        assert not any(media.root.rglob("*"))

    response = alice.get(attachment.get_absolute_url())
    assert response.status_code == 200
    assert body(response) == PNG
    assert response["Content-Disposition"] == 'attachment; filename="screen.png"'
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    # The page links to the view, never to the storage (no bucket, no endpoint, no path).
    page = alice.get(ticket.get_absolute_url()).content.decode()
    assert attachment.get_absolute_url() in page
    assert attachment.file.name not in page
    if media.server is not None:
        assert media.bucket not in page
        assert str(media.server.port) not in page


def test_it_refuses_another_shop_and_another_provider_the_stored_photo(
    world: World, media: Media, as_user
) -> None:  # noqa: ANN001
    ticket = file_with_photo(as_user(world.alice), world)
    url = ticket.attachments.get().get_absolute_url()
    assert as_user(world.bob).get(url).status_code == 404
    assert as_user(world.yuri).get(url).status_code == 404


def test_a_proof_of_purchase_is_stored_and_read_back_by_its_shop_only(
    world: World, media: Media, as_user
) -> None:  # noqa: ANN001
    device = add_proof(world.device_a, user=world.alice, proof=pdf(), purchase_date=None)
    assert media.files() == {device.proof_of_purchase.name: PDF}
    response = as_user(world.alice).get(f"/devices/{device.pk}/proof/")
    assert response.status_code == 200
    assert body(response) == PDF
    assert response["Cache-Control"] == "private, no-store"
    assert as_user(world.bob).get(f"/devices/{device.pk}/proof/").status_code == 404


def test_a_write_rolled_back_leaves_no_file(media: Media) -> None:
    seen: list[dict[str, bytes]] = []

    def save_then_fail() -> None:
        with atomic_with_uploads():
            default_storage.save("attachments/rolled-back.png", ContentFile(PNG))
            seen.append(media.files())
            raise DatabaseError("the connection dropped")

    with pytest.raises(DatabaseError):
        save_then_fail()
    assert list(seen[0].values()) == [PNG]
    assert media.files() == {}


def test_deleting_a_ticket_removes_its_files_once_the_delete_commits(
    world: World, media: Media, as_user, django_capture_on_commit_callbacks
) -> None:  # noqa: ANN001
    ticket = file_with_photo(as_user(world.alice), world)
    assert len(media.files()) == 1
    with django_capture_on_commit_callbacks(execute=True):
        ticket.delete()
    assert media.files() == {}


def break_storage(media: Media) -> None:
    if media.server is not None:
        media.server.client().delete_bucket(Bucket=media.bucket)
    else:
        media.root.rmdir()
        media.root.write_text("a file where the media folder should be")


def test_a_storage_that_fails_is_a_message_and_nothing_is_filed(
    world: World, media: Media, as_user
) -> None:  # noqa: ANN001
    break_storage(media)
    data = {
        **filing_data(world.device_a, description="Dark screen, photo attached."),
        "attachments": [png()],
    }
    response = as_user(world.alice).post("/tickets/new/", data)
    # 503: the server's fault, said with the form again (tickets.views.merchant).
    assert response.status_code == 503
    page = response.content.decode()
    assert "Your files could not be stored because of a problem on the server" in page
    # What was typed is kept, and nothing half-filed.
    assert "Dark screen, photo attached." in page
    assert not Ticket.objects.exists()


def test_the_readiness_check_tells_a_working_storage_from_a_broken_one(media: Media) -> None:
    check_media_storage(timeout=2)
    break_storage(media)
    with pytest.raises(StorageUnavailable) as refused:
        check_media_storage(timeout=2)
    # Public in /readyz: no host, bucket or key in the reason.
    assert media.bucket == "" or media.bucket not in str(refused.value)


# S3 only ---------------------------------------------------------------------------------


def test_the_bucket_grants_no_one_but_its_owner(
    world: World, moto_server: MotoServer, settings, monkeypatch, as_user
) -> None:  # noqa: ANN001
    bucket = moto_server.new_bucket()
    for name, value in moto_server.env(bucket).items():
        monkeypatch.setenv(name, value)
    settings.STORAGES = {**settings.STORAGES, "default": media_storage_from_env()}
    ticket = file_with_photo(as_user(world.alice), world)
    key = ticket.attachments.get().file.name
    grants = moto_server.client().get_object_acl(Bucket=bucket, Key=key)["Grants"]
    assert [grant["Permission"] for grant in grants] == ["FULL_CONTROL"]
    assert all(grant["Grantee"]["Type"] == "CanonicalUser" for grant in grants)


def test_an_unreachable_endpoint_fails_the_check_within_its_timeout(settings, monkeypatch) -> None:  # noqa: ANN001
    # A port where nothing listens: connection refused at once, so no retry may stretch it.
    monkeypatch.setenv("MEDIA_STORAGE", "s3")
    monkeypatch.setenv("MEDIA_S3_BUCKET", "posdesk-media")
    monkeypatch.setenv("MEDIA_S3_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("MEDIA_S3_ACCESS_KEY_ID", "a")
    monkeypatch.setenv("MEDIA_S3_SECRET_ACCESS_KEY", "b")
    settings.STORAGES = {**settings.STORAGES, "default": media_storage_from_env()}
    started = time.monotonic()
    with pytest.raises(StorageUnavailable):
        check_media_storage(timeout=1)
    assert time.monotonic() - started < 3


# The settings -----------------------------------------------------------------------------


def test_the_filesystem_is_the_default(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.delenv("MEDIA_STORAGE", raising=False)
    assert media_storage_from_env() == {"BACKEND": "portal.storage.UploadStorage"}


def test_s3_is_read_from_the_environment(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("MEDIA_STORAGE", "S3")
    monkeypatch.setenv("MEDIA_S3_BUCKET", "posdesk-media")
    monkeypatch.setenv("MEDIA_S3_ENDPOINT_URL", "http://minio:9000")
    monkeypatch.delenv("MEDIA_S3_REGION", raising=False)
    monkeypatch.setenv("MEDIA_S3_ACCESS_KEY_ID", "key")
    monkeypatch.setenv("MEDIA_S3_SECRET_ACCESS_KEY", "secret")
    config = media_storage_from_env()
    assert config["BACKEND"] == "portal.storage_s3.S3UploadStorage"
    options = config["OPTIONS"]
    assert options["bucket_name"] == "posdesk-media"
    assert options["endpoint_url"] == "http://minio:9000"
    assert options["region_name"] == "us-east-1"
    assert (options["access_key"], options["secret_key"]) == ("key", "secret")
    # Private: no ACL on objects, signed URLs only.
    assert options["default_acl"] is None
    assert options["querystring_auth"] is True


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"MEDIA_STORAGE": "ftp"}, "MEDIA_STORAGE must be filesystem or s3"),
        ({"MEDIA_STORAGE": "s3"}, "MEDIA_S3_BUCKET must be an S3 bucket name"),
        ({"MEDIA_STORAGE": "s3", "MEDIA_S3_BUCKET": "Media_Bucket"}, "MEDIA_S3_BUCKET"),
        (
            {
                "MEDIA_STORAGE": "s3",
                "MEDIA_S3_BUCKET": "media",
                "MEDIA_S3_ENDPOINT_URL": "minio:9000",
            },
            "MEDIA_S3_ENDPOINT_URL must be an http",
        ),
        (
            {"MEDIA_STORAGE": "s3", "MEDIA_S3_BUCKET": "media", "MEDIA_S3_ACCESS_KEY_ID": "key"},
            "go together",
        ),
    ],
)
def test_it_refuses_a_bad_configuration(monkeypatch, env: dict[str, str], complaint: str) -> None:  # noqa: ANN001
    for name in (
        "MEDIA_S3_BUCKET",
        "MEDIA_S3_ENDPOINT_URL",
        "MEDIA_S3_ACCESS_KEY_ID",
        "MEDIA_S3_SECRET_ACCESS_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=complaint):
        media_storage_from_env()


def test_a_file_gone_from_the_storage_is_a_404(world: World, media: Media, as_user) -> None:  # noqa: ANN001
    alice = as_user(world.alice)
    attachment = file_with_photo(alice, world).attachments.get()
    default_storage.delete(attachment.file.name)
    assert media.files() == {}
    assert alice.get(attachment.get_absolute_url()).status_code == 404


def test_a_large_file_streams_back_whole(media: Media) -> None:
    content = bytes(range(256)) * 40_000  # 10 MB, the upload limit
    name = default_storage.save("attachments/large.pdf", ContentFile(content))
    with default_storage.open(name, "rb") as handle:
        assert b"".join(iter(lambda: handle.read(65536), b"")) == content
