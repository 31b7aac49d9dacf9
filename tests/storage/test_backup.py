"""Backups (issue 17, part 6): `manage.py backup` then `manage.py restore` bring back
every row and every file, on the filesystem and in an S3 bucket (the `media` fixture).

The round trip runs against a private database made for the test (a copy of the test
database holding a few filed tickets with photos and a proof of purchase), with
pg_dump and pg_restore of the machine's PostgreSQL client: back up, wipe (the
database dropped and created empty, every media file deleted), restore, compare the
row count of every table and the SHA-256 of every file.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import connections

from conftest import World
from devices.services import add_proof
from ops.backup import BackupError, dump_media, prune, restore_media
from tests.factories import DeviceFactory
from tests.faults.services import django_env, manage, missing
from tests.storage.conftest import Media
from tickets.models import Attachment
from tickets.tests.filing_helpers import PNG, filing_data, pdf, png

pytestmark = pytest.mark.django_db(transaction=True)


def admin_connection():  # noqa: ANN201 (a psycopg connection)
    import psycopg

    db = settings.DATABASES["default"]
    return psycopg.connect(
        host=db.get("HOST") or "127.0.0.1",
        port=db.get("PORT") or 5432,
        user=db.get("USER") or "postgres",
        password=db.get("PASSWORD") or None,
        dbname="postgres",
        autocommit=True,
    )


def url_of(name: str) -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = f"{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"
    return f"postgres://{user}{password}@{host}/{name}"


def copy_of_the_test_database(name: str) -> None:
    """The test database as it is now, as a new database (its rows are committed)."""
    connections.close_all()
    with admin_connection() as conn:
        for _attempt in range(20):
            try:
                conn.execute(
                    f'CREATE DATABASE "{name}" TEMPLATE "{settings.DATABASES["default"]["NAME"]}"'
                )
                return
            except Exception as error:  # noqa: BLE001 - a last connection still closing
                if "being accessed by other users" not in str(error):
                    raise
                time.sleep(0.25)
    raise AssertionError("the test database stayed in use")


def row_counts(name: str) -> dict[str, int]:
    import psycopg

    db = settings.DATABASES["default"]
    with psycopg.connect(
        host=db.get("HOST") or "127.0.0.1",
        port=db.get("PORT") or 5432,
        user=db.get("USER") or "postgres",
        password=db.get("PASSWORD") or None,
        dbname=name,
    ) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1"
            )
        ]
        # Names from the catalogue, quoted: not input.
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}  # noqa: S608


def checksums(media: Media) -> dict[str, str]:
    return {name: hashlib.sha256(data).hexdigest() for name, data in media.files().items()}


def wipe_media(media: Media) -> None:
    if media.server is not None:
        client = media.server.client()
        for key in media.server.names(media.bucket):
            client.delete_object(Bucket=media.bucket, Key=key)
    else:
        shutil.rmtree(media.root)
        media.root.mkdir()


def test_a_backup_wiped_and_restored_brings_back_every_row_and_file(
    world: World, media: Media, as_user, tmp_path: Path
) -> None:  # noqa: ANN001
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        missing("a PostgreSQL test database (DATABASE_URL)")
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        missing("pg_dump and pg_restore (postgresql-client)")
    alice = as_user(world.alice)
    for n in range(3):
        device = DeviceFactory(merchant=world.merchant_a, provider=world.provider_x)
        data = {**filing_data(device), "attachments": [png(f"screen-{n}.png")]}
        assert alice.post("/tickets/new/", data).status_code == 302
    add_proof(world.device_a, user=world.alice, proof=pdf(), purchase_date=None)
    assert Attachment.objects.count() == 3

    private = f"posdesk_backup_{uuid.uuid4().hex[:10]}"
    copy_of_the_test_database(private)
    try:
        env = django_env(
            # portal.settings: the test settings pin MEDIA_ROOT to .test-media.
            DJANGO_SETTINGS_MODULE="portal.settings",
            DATABASE_URL=url_of(private),
            MEDIA_ROOT=str(media.root),
            BACKUP_DIR=str(tmp_path / "backups"),
        )
        rows = row_counts(private)
        files = checksums(media)
        assert rows["tickets_attachment"] == 3
        assert len(files) == 4  # three photos and the proof

        folder = Path(manage("backup", env=env).strip())
        assert folder.parent == tmp_path / "backups"
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["database"] == {"engine": "postgresql", "file": "database.dump"}
        assert manifest["media"]["storage"] == media.kind
        assert {f["name"]: f["sha256"] for f in manifest["media"]["files"]} == files
        # pg_dump's custom format, which pg_restore reads.
        assert (folder / "database.dump").read_bytes()[:5] == b"PGDMP"

        # The disaster: the database gone, every file gone.
        with admin_connection() as conn:
            conn.execute(f'DROP DATABASE "{private}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{private}"')
        wipe_media(media)
        assert row_counts(private) == {}
        assert media.files() == {}

        manage("restore", str(folder), "--noinput", env=env)
        assert row_counts(private) == rows
        assert checksums(media) == files
    finally:
        with admin_connection() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{private}" WITH (FORCE)')


def test_a_file_that_does_not_match_its_checksum_is_refused(media: Media, tmp_path: Path) -> None:
    default_storage.save("attachments/photo.png", ContentFile(PNG))
    files = dump_media(tmp_path, default_storage)
    files[0]["sha256"] = hashlib.sha256(b"something else").hexdigest()
    with pytest.raises(BackupError, match="did not come back as it was"):
        restore_media(tmp_path, default_storage, files)


def test_restore_refuses_a_folder_that_is_not_a_whole_backup(tmp_path: Path) -> None:
    unfinished = tmp_path / "posdesk-20260101-000000.partial"
    unfinished.mkdir()
    with pytest.raises(CommandError, match="unfinished backup"):
        call_command("restore", str(unfinished), "--noinput")
    with pytest.raises(CommandError, match="not a PosDesk backup"):
        call_command("restore", str(tmp_path), "--noinput")


def test_keep_removes_the_oldest_backups_only(tmp_path: Path) -> None:
    for stamp in ("20260101-010000", "20260102-010000", "20260103-010000"):
        (tmp_path / f"posdesk-{stamp}").mkdir()
    running = tmp_path / "posdesk-20260104-010000.partial"
    running.mkdir()
    gone = prune(tmp_path, keep=2)
    assert [p.name for p in gone] == ["posdesk-20260101-010000"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "posdesk-20260102-010000",
        "posdesk-20260103-010000",
        "posdesk-20260104-010000.partial",
    ]


def test_the_sqlite_database_and_media_folder_of_make_run_round_trip(tmp_path: Path) -> None:
    import sqlite3

    database = tmp_path / "db.sqlite3"
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE shop (name TEXT)")
        conn.executemany("INSERT INTO shop VALUES (?)", [("A",), ("B",), ("C",)])
    conn.close()
    media = tmp_path / "media"
    (media / "proofs").mkdir(parents=True)
    (media / "proofs" / "receipt.png").write_bytes(PNG)
    env = django_env(
        DJANGO_SETTINGS_MODULE="portal.settings",
        DATABASE_URL=f"sqlite:///{database}",
        MEDIA_ROOT=str(media),
        BACKUP_DIR=str(tmp_path / "backups"),
        MEDIA_STORAGE="filesystem",
    )
    folder = manage("backup", env=env).strip()
    database.unlink()
    shutil.rmtree(media)

    manage("restore", folder, "--noinput", env=env)
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM shop").fetchone()[0] == 3
    conn.close()
    assert (media / "proofs" / "receipt.png").read_bytes() == PNG
