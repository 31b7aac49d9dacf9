"""Uploads in an S3-compatible bucket (MEDIA_STORAGE=s3): AWS S3, MinIO, Ceph, ...

django-storages' S3Storage with the promises of portal.storage's UploadStorage:

- a write that fails (the endpoint unreachable, access denied, a bucket that is gone)
  is a `StorageFailed` whose message is for the person who uploaded, never a 500;
- a file written inside `atomic_with_uploads()` is removed when the block rolls back;
- a failed delete is an `OSError`, which every caller already logs and survives.

The bucket is private: objects are written with no ACL (the bucket's own policy, which
must not grant public reads), and no page ever links to the bucket. Every download goes
through a view that checks the requester's scope and then streams the object (see
README "Uploads in S3"), so a stored name is never a capability on its own.
"""

from __future__ import annotations

import errno
import logging

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.core.files.base import File
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

from portal.storage import StorageFailed, StorageUnavailable, track_write

logger = logging.getLogger(__name__)

# A slow or unreachable endpoint must cost a request seconds, not minutes.
CONNECT_TIMEOUT = 5
READ_TIMEOUT = 30


def client_config(*, path_style: bool, timeout: float | None = None, attempts: int = 3) -> Config:
    return Config(
        # A self-hosted endpoint (MinIO, moto) rarely has a DNS name per bucket.
        s3={"addressing_style": "path" if path_style else "auto"},
        signature_version="s3v4",
        connect_timeout=timeout or CONNECT_TIMEOUT,
        read_timeout=timeout or READ_TIMEOUT,
        retries={"max_attempts": attempts, "mode": "standard"},
    )


class S3Download(File):
    """An object being read from the bucket: one GET, its body streamed as it is read
    (django-storages' own S3File sends a HEAD first, then copies the whole object into
    memory or a temporary file before the first byte). Read it from start to end; it
    does not seek."""

    def __init__(self, body: object, name: str, size: int) -> None:
        super().__init__(body, name)
        self.size = size


class S3UploadStorage(S3Storage):
    def __init__(self, **settings: object) -> None:
        settings.setdefault(
            "client_config", client_config(path_style=bool(settings.get("endpoint_url")))
        )
        super().__init__(**settings)
        self._probes: dict[float, object] = {}

    def __getstate__(self) -> dict[str, object]:
        state = super().__getstate__()
        state.pop("_probes", None)  # boto3 clients do not pickle
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        super().__setstate__(state)
        self._probes = {}

    def _open(self, name: str, mode: str = "rb") -> File:
        if mode != "rb":
            return super()._open(name, mode)
        key = self._normalize_name(clean_name(name))
        try:
            answer = self.connection.meta.client.get_object(Bucket=self.bucket_name, Key=key)
        except ClientError as error:
            if error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                raise FileNotFoundError(f"{name} is not in the bucket") from error
            raise
        return S3Download(answer["Body"], name, answer["ContentLength"])

    def _save(self, name: str, content: File) -> str:
        try:
            name = super()._save(name, content)
        except (BotoCoreError, ClientError) as error:
            # A multipart upload that failed half-way is aborted by boto3; a single PUT
            # either stored the object or not. The name is ours (uuid4): remove any trace.
            logger.error("Could not store the upload %s in the bucket: %s", name, error)
            self._remove_partial(name)
            raise StorageFailed(OSError(errno.EIO, str(error))) from error
        track_write(self, name)
        return name

    def delete(self, name: str) -> None:
        try:
            super().delete(name)
        except (BotoCoreError, ClientError) as error:
            raise OSError(errno.EIO, f"Could not delete {name} from the bucket: {error}") from error

    def _remove_partial(self, name: str) -> None:
        try:
            self.delete(name)
        except OSError:
            logger.exception("Could not remove the partial upload %s", name)

    def check_ready(self, timeout: float) -> None:
        """A HEAD on the bucket, with one attempt and `timeout` seconds: it answers, it
        exists, and our credentials may use it."""
        # Clients are thread-safe and costly to build: one per storage and timeout.
        probe = self._probes.get(timeout)
        if probe is None:
            probe = self._create_session().client(
                "s3",
                region_name=self.region_name,
                use_ssl=self.use_ssl,
                endpoint_url=self.endpoint_url,
                config=client_config(
                    path_style=bool(self.endpoint_url), timeout=timeout, attempts=1
                ),
                verify=self.verify,
            )
            self._probes[timeout] = probe
        try:
            probe.head_bucket(Bucket=self.bucket_name)
        except ClientError as error:
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            raise StorageUnavailable(f"the bucket answered {status}") from error
        except BotoCoreError as error:
            raise StorageUnavailable(type(error).__name__) from error
