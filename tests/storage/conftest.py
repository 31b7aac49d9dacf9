"""Media storage fixtures: one moto S3 server for the session, and `media`, a fresh place
for uploads that is a folder (MEDIA_ROOT) or a bucket on that server, parametrised so
each storage test runs on both."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from portal.env import media_storage_from_env
from tests.s3server import MotoServer


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    server = MotoServer(tmp_path_factory.mktemp("moto"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Media:
    kind: str  # "filesystem" or "s3"
    root: Path
    server: MotoServer | None = None
    bucket: str = ""

    def files(self) -> dict[str, bytes]:
        """Every stored upload, by its stored name, with its bytes."""
        if self.server is not None:
            return self.server.keys(self.bucket)
        return {
            path.relative_to(self.root).as_posix(): path.read_bytes()
            for path in sorted(self.root.rglob("*"))
            if path.is_file()
        }


@pytest.fixture(params=["filesystem", "s3"])
def media(request, settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Media:  # noqa: ANN001
    """Uploads go to a new folder, or to a new bucket on the moto server, configured from
    the environment exactly as production reads it (portal.env.media_storage_from_env)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    if request.param == "filesystem":
        monkeypatch.delenv("MEDIA_STORAGE", raising=False)
        found = Media("filesystem", settings.MEDIA_ROOT)
    else:
        server: MotoServer = request.getfixturevalue("moto_server")
        found = Media("s3", settings.MEDIA_ROOT, server, server.new_bucket())
        for name, value in server.env(found.bucket).items():
            monkeypatch.setenv(name, value)
    settings.STORAGES = {**settings.STORAGES, "default": media_storage_from_env()}
    return found
