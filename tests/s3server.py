"""A real S3 API for tests: moto's server mode (`python -m moto.server`), started on a
free port of 127.0.0.1 in a process of its own and stopped by its PID.

Every process a test starts (gunicorn, Celery) reaches it over HTTP like a real
endpoint; `env()` is what they need to use it as PosDesk's media storage.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

from tests.waiting import free_port, port_open, wait_until

# moto accepts any key pair; these are only what the clients sign with.
ACCESS_KEY = "posdesk-test-access"
SECRET_KEY = "posdesk-test-secret-key"  # noqa: S105 - moto checks nothing
REGION = "us-east-1"


class MotoServer:
    def __init__(self, logdir: Path) -> None:
        self.port = free_port()
        self.logfile = logdir / f"moto-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = open(self.logfile, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(  # noqa: S603 - our own argv
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        if not wait_until(lambda: port_open(self.port) or self.proc.poll() is not None, timeout=30):
            self.stop()
            raise RuntimeError(f"moto did not start:\n{self.log()}")
        if self.proc.poll() is not None:
            raise RuntimeError(f"moto exited:\n{self.log()}")

    def log(self) -> str:
        return self.logfile.read_text(errors="replace") if self.logfile.exists() else ""

    def stop(self) -> None:
        from tests.faults.services import stop_process

        if self.proc is not None:
            stop_process(self.proc)

    def client(self):  # noqa: ANN201 (a boto3 client)
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def new_bucket(self) -> str:
        name = f"posdesk-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def env(self, bucket: str) -> dict[str, str]:
        """The environment that makes PosDesk keep its uploads in `bucket` here."""
        return {
            "MEDIA_STORAGE": "s3",
            "MEDIA_S3_BUCKET": bucket,
            "MEDIA_S3_ENDPOINT_URL": self.endpoint,
            "MEDIA_S3_REGION": REGION,
            "MEDIA_S3_ACCESS_KEY_ID": ACCESS_KEY,
            "MEDIA_S3_SECRET_ACCESS_KEY": SECRET_KEY,
        }

    def names(self, bucket: str) -> set[str]:
        """The keys of every object in `bucket`."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return {item["Key"] for page in pages for item in page.get("Contents", [])}

    def keys(self, bucket: str) -> dict[str, bytes]:
        """Every object in `bucket`, by key, with its bytes."""
        client = self.client()
        found = {}
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                body = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                found[item["Key"]] = body
        return found
