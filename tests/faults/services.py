"""Private servers and processes for fault-injection tests.

Each helper starts its own process on a free port and stops exactly that process,
by its PID, so the machine's shared PostgreSQL and Redis are never touched. Under
CI a missing binary fails the test (the fault would silently go unchecked);
elsewhere it skips.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings

from tests.waiting import free_port, port_open, wait_until

PROJECT_DIR = Path(settings.BASE_DIR)
PYTHON = sys.executable


def missing(what: str) -> None:
    """Fail under CI (a fault test that never runs proves nothing), skip elsewhere."""
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"{what} is required for the fault-injection tests under CI")
    pytest.skip(f"{what} is not available")


def stop_process(proc: subprocess.Popen, *, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
    """Stop one process we started (and its own process group), by PID."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        # Started with start_new_session=True: the group id is the child's own PID.
        os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)


class PrivateRedis:
    """A `redis-server` of our own: no persistence, a free port, stopped by PID."""

    def __init__(self, workdir: Path) -> None:
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            missing("redis-server")
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        log = open(self.workdir / f"redis-{self.port}.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(  # noqa: S603 - our own argv
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        if not wait_until(lambda: port_open(self.port), timeout=15):
            self.stop()
            raise RuntimeError(f"private redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)

    def is_running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def postgres_bindir() -> Path | None:
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
    )
    for candidate in reversed(candidates):
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    return None


class PrivatePostgres:
    """A throw-away PostgreSQL cluster in a temp folder, trust auth, on a free port.

    PostgreSQL refuses to run as root, so when we are root every server command runs
    as the `postgres` OS user (`runuser`), in a folder that user owns.
    """

    def __init__(self) -> None:
        bindir = postgres_bindir()
        if bindir is None:
            missing("PostgreSQL server binaries (/usr/lib/postgresql/<version>/bin)")
        self.bindir = bindir
        self.as_user: list[str] = []
        self.owner: tuple[int, int] | None = None
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            try:
                entry = pwd.getpwnam("postgres")
            except KeyError:
                entry = None
            if runuser is None or entry is None:
                missing("runuser and a `postgres` OS user (PostgreSQL refuses root)")
            self.as_user = [runuser, "-u", "postgres", "--"]
            self.owner = (entry.pw_uid, entry.pw_gid)
        self.base = Path(tempfile.mkdtemp(prefix="posdesk-faults-pg-"))
        os.chmod(self.base, 0o755)  # noqa: S103 - the postgres user must enter it
        if self.owner:
            os.chown(self.base, *self.owner)
        self.datadir = self.base / "data"
        self.port = free_port()

    def url(self, dbname: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def _run(self, *args: str) -> None:
        subprocess.run(  # noqa: S603 - our own argv
            [*self.as_user, *args], check=True, capture_output=True, timeout=120
        )

    def init(self) -> None:
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.datadir),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
        )

    def start(self) -> None:
        options = f"-p {self.port} -h 127.0.0.1 -k {self.datadir} -c fsync=off"
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.datadir),
            "-l",
            str(self.base / "postgres.log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )

    def pid(self) -> int | None:
        try:
            return int((self.datadir / "postmaster.pid").read_text().split()[0])
        except (FileNotFoundError, IndexError, ValueError):
            return None

    def stop(self) -> None:
        if self.pid() is None:
            return
        try:
            self._run(
                str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "fast", "-w", "stop"
            )
        except subprocess.SubprocessError:
            pid = self.pid()
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    def create_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    cluster = PrivatePostgres()
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


def django_env(**overrides: str) -> dict[str, str]:
    """The environment for a Django subprocess: ours, minus anything pointing elsewhere."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}
        and not key.startswith("PYTEST_")
    }
    env.update(overrides)
    return env


def manage(*args: str, env: dict[str, str], timeout: float = 300) -> str:
    result = subprocess.run(  # noqa: S603 - our own argv
        [PYTHON, "manage.py", *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise AssertionError(
            f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        )
    return result.stdout


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own server
            return response.status < 500
    except urllib.error.HTTPError as error:
        return error.code < 500
    except OSError:
        return False


class WebServer:
    """The project under gunicorn in a subprocess: one sync worker by default, so one
    thread keeps one persistent database connection across requests (what a restart
    breaks). The access log names the worker's PID on each request."""

    def __init__(self, env: dict[str, str], logdir: Path, *, workers: int = 1) -> None:
        self.port = free_port()
        self.workers = workers
        self.env = env
        self.logfile = logdir / f"gunicorn-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = open(self.logfile, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(  # noqa: S603 - our own argv
            [
                PYTHON,
                "-m",
                "gunicorn",
                "portal.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.workers),
                "--worker-class",
                "sync",
                "--timeout",
                "60",
                "--access-logfile",
                "-",
                "--access-logformat",
                'pid=%(p)s "%(r)s" %(s)s',
            ],
            cwd=PROJECT_DIR,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        if not wait_until(lambda: http_ok(self.url + "/accounts/login/"), timeout=30):
            self.stop()
            raise RuntimeError(f"gunicorn did not answer:\n{self.log()}")

    def log(self) -> str:
        return self.logfile.read_text(errors="replace") if self.logfile.exists() else ""

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)


class CeleryProcess:
    """`celery worker` or `celery beat` of tests/faults/worker_app on a given broker,
    against the test database; stopped by its PID (and the group it leads)."""

    def __init__(
        self,
        kind: str,
        *,
        broker_url: str,
        database_url: str,
        logdir: Path,
        env: dict[str, str] | None = None,
        pool: str = "solo",
    ) -> None:
        self.kind = kind
        self.logfile = logdir / f"{kind}-{free_port()}.log"
        self.env = django_env(
            **{
                "DJANGO_SETTINGS_MODULE": "tests.faults.settings",
                "CELERY_BROKER_URL": broker_url,
                "DATABASE_URL": database_url,
                "DB_CONN_MAX_AGE": "0",
                "PYTHONUNBUFFERED": "1",
                **(env or {}),
            }
        )
        if kind == "worker":
            self.args = [
                "worker",
                f"--pool={pool}",
                "--concurrency=1",
                "-Q",
                "celery,email,webhooks",
                "-n",
                f"faults-{self.logfile.stem}@%h",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
            ]
        else:
            self.args = ["beat", "-s", str(logdir / f"beat-schedule-{self.logfile.stem}")]
        self.proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, *, ready: str | None = None, timeout: float = 60) -> None:
        log = open(self.logfile, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(  # noqa: S603 - our own argv
            [PYTHON, "-m", "celery", "-A", "tests.faults.worker_app", *self.args, "-l", "INFO"],
            cwd=PROJECT_DIR,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        marker = ready or (" ready." if self.kind == "worker" else "beat: Starting")
        if not wait_until(lambda: marker in self.log() or not self.alive(), timeout=timeout):
            self.stop()
            raise RuntimeError(f"celery {self.kind} did not start:\n{self.log()[-4000:]}")
        if not self.alive():
            raise RuntimeError(f"celery {self.kind} exited:\n{self.log()[-4000:]}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        return self.logfile.read_text(errors="replace") if self.logfile.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, no chance to acknowledge or requeue anything."""
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, timeout=15)


def start_together(
    start: Callable[..., CeleryProcess], kinds: tuple[str, ...], **options: object
) -> list[CeleryProcess]:
    """Start several processes with the `celery_process` fixture's `start` (a worker and
    beat, say) side by side instead of one after the other: each start still waits for
    its own process to say it is ready. Returned in the order of `kinds`."""
    with ThreadPoolExecutor(max_workers=len(kinds)) as pool:
        starting = [pool.submit(start, kind, **options) for kind in kinds]
        return [started.result() for started in starting]
