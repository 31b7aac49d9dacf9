"""docker-compose.yml and the Dockerfile: they parse, and every command points at something real.

No Docker engine runs in the tests, so this is the check that a rename in the
project (a settings module, the Celery app, an entrypoint script) does not leave
the production set-up pointing at nothing.
"""

from __future__ import annotations

import http.server
import importlib.util
import os
import re
import shlex
import socket
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ("web", "worker", "beat")
SERVICES = (*APP_SERVICES, "db", "redis")


def load_compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    text = (ROOT / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    instructions = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def as_argv(command: str | list[str]) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else list(command)


def env_file_names() -> set[str]:
    names = set()
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            names.add(line.split("=", 1)[0].strip())
    return names


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


def test_it_declares_the_five_services(compose: dict[str, Any]) -> None:
    assert set(SERVICES) <= set(compose["services"])


def test_the_database_and_the_uploads_live_in_named_volumes(compose: dict[str, Any]) -> None:
    services = compose["services"]
    declared = set(compose["volumes"])
    assert any(v.startswith("db:") for v in services["db"]["volumes"])
    for name in ("web", "worker"):
        # Both write uploads: they must see the same files.
        assert "media:/data/media" in services[name]["volumes"], name
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            assert source in declared, f"{name} mounts undeclared volume {source}"


def test_beat_keeps_its_schedule_in_a_writable_volume(compose: dict[str, Any]) -> None:
    beat = compose["services"]["beat"]
    argv = as_argv(beat["command"])
    schedule = argv[argv.index("--schedule") + 1]
    mounts = {v.split(":")[1] for v in beat["volumes"]}
    assert str(Path(schedule).parent) in mounts
    # The image creates the directory so the empty volume takes the app user's ownership.
    assert any(
        kw == "RUN" and str(Path(schedule).parent) in args for kw, args in dockerfile_instructions()
    )


def test_db_redis_and_web_have_health_checks(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert "pg_isready" in str(services["db"]["healthcheck"]["test"])
    assert "redis-cli" in str(services["redis"]["healthcheck"]["test"])
    assert "ping" in str(services["redis"]["healthcheck"]["test"])
    web_check = as_argv(services["web"]["healthcheck"]["test"])
    assert web_check[0] == "CMD"
    assert (ROOT / web_check[-1]).is_file()


def test_every_service_waits_for_healthy_dependencies(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in APP_SERVICES:
        depends = services[name]["depends_on"]
        assert {"db", "redis"} <= set(depends), name
        for dependency, rule in depends.items():
            assert rule["condition"] == "service_healthy", (name, dependency)
            # Waiting for health needs a health check on the other side.
            assert "healthcheck" in services[dependency], dependency
    # Worker and beat start once web has applied the migrations.
    assert "web" in services["worker"]["depends_on"]
    assert "web" in services["beat"]["depends_on"]


def test_the_app_services_run_production_settings_that_exist(compose: dict[str, Any]) -> None:
    for name in APP_SERVICES:
        service = compose["services"][name]
        module = service["environment"]["DJANGO_SETTINGS_MODULE"]
        assert module == "portal.settings_production"
        assert (ROOT / (module.replace(".", "/") + ".py")).is_file()
        assert service["env_file"] == ".env"
        assert service["build"] == "."


def test_web_migrates_before_gunicorn_serves_the_wsgi_app(compose: dict[str, Any]) -> None:
    web = compose["services"]["web"]
    entrypoint = ROOT / as_argv(web["entrypoint"])[0]
    assert entrypoint.is_file()
    assert os.access(entrypoint, os.X_OK), f"{entrypoint} is not executable"
    script = entrypoint.read_text()
    assert "manage.py migrate --noinput" in script
    assert 'exec "$@"' in script
    argv = as_argv(web["command"])
    assert argv[0] == "gunicorn"
    module = argv[1].split(":")[0]
    assert (ROOT / (module.replace(".", "/") + ".py")).is_file()
    assert module == "portal.wsgi"


def test_web_runs_gunicorn_with_the_projects_log_config(compose: dict[str, Any]) -> None:
    argv = as_argv(compose["services"]["web"]["command"])
    config = argv[argv.index("-c") + 1]
    assert (ROOT / config).is_file()
    # The application logs each request with its id; no second, plain-text access log.
    assert "--access-logfile" not in argv


def test_metrics_add_up_in_a_fresh_folder_per_container(compose: dict[str, Any]) -> None:
    services = compose["services"]
    folder = services["web"]["environment"]["PROMETHEUS_MULTIPROC_DIR"]
    for name in ("web", "worker"):
        assert services[name]["environment"]["PROMETHEUS_MULTIPROC_DIR"] == folder
        # A tmpfs: emptied at each start, so no dead process's samples are added in, and
        # never shared between containers, whose process ids may be the same.
        assert folder in services[name]["tmpfs"], name
        assert not any(v.split(":")[1] == folder for v in services[name].get("volumes", []))


@pytest.mark.parametrize("service", ["worker", "beat"])
def test_celery_services_load_the_project_app(compose: dict[str, Any], service: str) -> None:
    argv = as_argv(compose["services"][service]["command"])
    assert argv[:3] == ["celery", "-A", "portal"]
    assert argv[3] == service
    assert (ROOT / "portal" / "celery.py").is_file()
    # `-A portal` finds the app through portal/__init__.py.
    assert "celery_app" in (ROOT / "portal" / "__init__.py").read_text()


def test_requirements_pin_gunicorn_and_celery() -> None:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[re.sub(r"\[.*\]", "", name).lower()] = version
    assert pins.get("gunicorn")
    assert pins.get("celery")
    assert pins.get("psycopg")


def test_the_dockerfile_base_image_is_python_312_or_newer() -> None:
    images = [args.split()[0] for kw, args in dockerfile_instructions() if kw == "FROM"]
    assert images
    match = re.fullmatch(r"python:(\d+)\.(\d+)[\w.-]*", images[-1])
    assert match, images[-1]
    assert (int(match[1]), int(match[2])) >= (3, 12)


def test_the_dockerfile_copies_only_what_exists() -> None:
    copies = [args for kw, args in dockerfile_instructions() if kw == "COPY"]
    assert copies
    for args in copies:
        parts = [p for p in args.split() if not p.startswith("--")]
        for source in parts[:-1]:
            assert (ROOT / source).exists(), f"COPY source {source} is missing"


def test_the_dockerfile_runs_gunicorn_as_a_non_root_user() -> None:
    instructions = dockerfile_instructions()
    users = [args for kw, args in instructions if kw == "USER"]
    assert users
    assert users[-1] not in {"root", "0"}
    cmd = [args for kw, args in instructions if kw == "CMD"][-1]
    assert "gunicorn" in cmd
    assert "portal.wsgi" in cmd
    assert any(kw == "RUN" and "collectstatic" in args for kw, args in instructions)


def test_dockerignore_keeps_the_code_and_drops_local_state() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for needed in ("manage.py", "portal", "devices", "tickets", "templates", "static", "locale"):
        assert needed not in ignored
    for local in (".venv", ".env", "db.sqlite3", ".git"):
        assert local in ignored


def test_env_example_names_only_variables_something_reads(compose: dict[str, Any]) -> None:
    read_by_settings = set()
    for path in [*(ROOT / "portal").glob("settings*.py"), ROOT / "portal" / "env.py"]:
        # Names may hold digits (MEDIA_S3_BUCKET).
        read_by_settings |= set(re.findall(r"env_\w+\(\s*\"([A-Z0-9_]+)\"", path.read_text()))
        read_by_settings |= set(
            re.findall(r"os\.environ\.get\(\s*\"([A-Z0-9_]+)\"", path.read_text())
        )
    compose_text = (ROOT / "docker-compose.yml").read_text()
    read_by_compose = set(re.findall(r"\$\{([A-Z0-9_]+)", compose_text))
    read_by_gunicorn = {"WEB_CONCURRENCY"}
    unknown = env_file_names() - read_by_settings - read_by_compose - read_by_gunicorn
    assert not unknown, f".env.example names variables nothing reads: {sorted(unknown)}"
    # Every variable compose interpolates has a value in the example.
    assert read_by_compose <= env_file_names()


def load_healthcheck():  # noqa: ANN201 (a module object)
    spec = importlib.util.spec_from_file_location("healthcheck", ROOT / "docker/healthcheck.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("allowed_hosts", "expected"),
    [
        ("posdesk.example.com,other.example.com", "posdesk.example.com"),
        (".example.com", "example.com"),
        ("*", "localhost"),
        ("", "localhost"),
    ],
)
def test_the_web_health_check_asks_for_an_allowed_host(
    monkeypatch, allowed_hosts: str, expected: str
) -> None:
    monkeypatch.setenv("ALLOWED_HOSTS", allowed_hosts)
    assert load_healthcheck().probe_host() == expected


class FakeWeb(http.server.BaseHTTPRequestHandler):
    """Answers like production gunicorn: plain HTTP or an unknown host is not a 200."""

    seen: list[dict[str, str]] = []
    readyz_status = 200

    def do_GET(self) -> None:  # noqa: N802 (the http.server API)
        FakeWeb.seen.append({"path": self.path, **dict(self.headers)})
        if self.headers.get("X-Forwarded-Proto") != "https":
            status = 301
        elif self.headers.get("Host") != "posdesk.example.com":
            status = 400
        else:
            status = FakeWeb.readyz_status if self.path == "/readyz" else 404
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_web():  # noqa: ANN201 (a server object)
    FakeWeb.seen = []
    FakeWeb.readyz_status = 200
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeWeb)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_the_web_health_check_passes_when_readyz_answers(fake_web, monkeypatch) -> None:
    # Production settings redirect plain HTTP and refuse unknown hosts: the probe
    # must look like a request that came through the TLS proxy for an allowed host.
    monkeypatch.setenv("ALLOWED_HOSTS", "posdesk.example.com")
    monkeypatch.setenv("PORT", str(fake_web.server_address[1]))
    assert load_healthcheck().main() == 0
    assert FakeWeb.seen[-1]["path"] == "/readyz"


def test_the_web_health_check_fails_when_readyz_answers_503(fake_web, monkeypatch) -> None:
    # /readyz: the database, the broker or the storage did not answer in time.
    monkeypatch.setenv("ALLOWED_HOSTS", "posdesk.example.com")
    monkeypatch.setenv("PORT", str(fake_web.server_address[1]))
    FakeWeb.readyz_status = 503
    assert load_healthcheck().main() == 1


def test_the_web_health_check_fails_for_an_unknown_host(fake_web, monkeypatch) -> None:
    monkeypatch.setenv("ALLOWED_HOSTS", "other.example.com")
    monkeypatch.setenv("PORT", str(fake_web.server_address[1]))
    assert load_healthcheck().main() == 1


def test_the_web_health_check_fails_when_nothing_listens(monkeypatch) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    monkeypatch.setenv("PORT", str(free_port))
    assert load_healthcheck().main() == 1


# The optional S3 service (issue 17) ---------------------------------------------------------

S3_SERVICES = ("minio", "minio-bucket")


def test_the_s3_service_starts_only_with_its_profile(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in S3_SERVICES:
        assert services[name]["profiles"] == ["s3"], name
    # A plain `docker compose up` starts the five services, none of them behind a profile,
    # and none of them waits for MinIO: the filesystem stays the default.
    for name in SERVICES:
        assert "profiles" not in services[name], name
        assert not set(services[name].get("depends_on", {})) & set(S3_SERVICES), name


def test_minio_keeps_its_objects_in_a_volume_and_is_not_published(compose: dict[str, Any]) -> None:
    minio = compose["services"]["minio"]
    assert "minio:/data" in minio["volumes"]
    assert "minio" in compose["volumes"]
    assert as_argv(minio["command"])[:2] == ["server", "/data"]
    assert "mc" in str(minio["healthcheck"]["test"])
    # Downloads are streamed by the portal after its scope check: no browser reaches it.
    assert "ports" not in minio
    # Image tags are pinned releases, never `latest`.
    for name in S3_SERVICES:
        image = compose["services"][name]["image"]
        assert re.fullmatch(r"minio/(minio|mc):RELEASE\.[\dT:-]+Z", image), image


def test_the_bucket_is_made_private_once_minio_is_healthy(compose: dict[str, Any]) -> None:
    maker = compose["services"]["minio-bucket"]
    assert maker["depends_on"]["minio"]["condition"] == "service_healthy"
    script = " ".join(as_argv(maker["entrypoint"]) + list(maker["command"]))
    assert "mc mb --ignore-existing" in script
    assert "mc anonymous set none" in script
    # The bucket and keys are the ones the portal reads (MEDIA_S3_*), from .env.
    environment = maker["environment"]
    assert "MEDIA_S3_BUCKET" in environment["BUCKET"]
    assert (
        "MEDIA_S3_ACCESS_KEY_ID" in compose["services"]["minio"]["environment"]["MINIO_ROOT_USER"]
    )


def test_env_example_keeps_the_filesystem_and_names_every_s3_setting() -> None:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    assert values["MEDIA_STORAGE"] == "filesystem"
    for name in (
        "MEDIA_S3_BUCKET",
        "MEDIA_S3_ENDPOINT_URL",
        "MEDIA_S3_REGION",
        "MEDIA_S3_ACCESS_KEY_ID",
        "MEDIA_S3_SECRET_ACCESS_KEY",
    ):
        assert name in values, name
