"""Settings from the environment: bad values refused, URLs parsed, production hardened.

Settings are read once per process, so every case that needs a different
environment runs Python in a subprocess with exactly the variables it names.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.env import env_bool, env_int, env_list, env_str

ROOT = Path(__file__).resolve().parent.parent.parent

PRINT_SETTINGS = """
import json
import django
from django.conf import settings
django.setup()
database = settings.DATABASES["default"]
print(json.dumps({
    "ENGINE": database["ENGINE"],
    "NAME": str(database["NAME"]),
    "USER": database.get("USER", ""),
    "PASSWORD": database.get("PASSWORD", ""),
    "HOST": database.get("HOST", ""),
    "PORT": database.get("PORT", ""),
    "CONN_MAX_AGE": database["CONN_MAX_AGE"],
    "DEBUG": settings.DEBUG,
    "ALLOWED_HOSTS": settings.ALLOWED_HOSTS,
    "CELERY_TASK_ALWAYS_EAGER": settings.CELERY_TASK_ALWAYS_EAGER,
    "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    "TIME_ZONE": settings.TIME_ZONE,
    "SESSION_COOKIE_HTTPONLY": settings.SESSION_COOKIE_HTTPONLY,
    "SESSION_COOKIE_SECURE": settings.SESSION_COOKIE_SECURE,
    "SESSION_COOKIE_SAMESITE": settings.SESSION_COOKIE_SAMESITE,
    "CSRF_COOKIE_SECURE": settings.CSRF_COOKIE_SECURE,
    "SECURE_SSL_REDIRECT": settings.SECURE_SSL_REDIRECT,
    "SECURE_HSTS_SECONDS": settings.SECURE_HSTS_SECONDS,
    "MAILER_BACKEND": settings.MAILERS["default"]["BACKEND"],
    "MAILER_OPTIONS": settings.MAILERS["default"].get("OPTIONS", {}),
}))
"""


def run_python(
    args: list[str], settings_module: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run the project's Python with only PATH, HOME and the given variables."""
    clean_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": settings_module,
        **env,
    }
    return subprocess.run(  # noqa: S603 (our own interpreter and arguments)
        [sys.executable, *args],
        cwd=ROOT,
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def settings_under(settings_module: str = "portal.settings", **env: str) -> dict:
    result = run_python(["-c", PRINT_SETTINGS], settings_module, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def production_env(**overrides: str) -> dict[str, str]:
    env = {
        "SECRET_KEY": secrets.token_urlsafe(45)[:60],
        "DEBUG": "false",
        "ALLOWED_HOSTS": "posdesk.example.com",
        "DATABASE_URL": "postgres://posdesk:secret@db.example.com:5432/posdesk",
        "CELERY_BROKER_URL": "redis://redis.example.com:6379/0",
        "SITE_URL": "https://posdesk.example.com",
        "CACHE_URL": "redis://redis.example.com:6379/1",
    }
    env.update(overrides)
    return {name: value for name, value in env.items() if value is not None}


# --- the helpers ---


def test_env_bool_refuses_a_value_that_is_neither_true_nor_false(monkeypatch) -> None:
    monkeypatch.setenv("X", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X must be true or false"):
        env_bool("X", False)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), ("TRUE", True), (" yes ", True), ("on", True), ("0", False), ("off", False)],
)
def test_env_bool_reads_the_usual_spellings(monkeypatch, raw: str, expected: bool) -> None:
    monkeypatch.setenv("X", raw)
    assert env_bool("X", not expected) is expected


def test_env_bool_falls_back_to_the_default_when_unset(monkeypatch) -> None:
    monkeypatch.delenv("X", raising=False)
    assert env_bool("X", True) is True


def test_env_int_refuses_words(monkeypatch) -> None:
    monkeypatch.setenv("X", "ten")
    with pytest.raises(ImproperlyConfigured, match="X must be an integer"):
        env_int("X", 10)


def test_env_int_reads_a_number_and_defaults_when_empty(monkeypatch) -> None:
    monkeypatch.setenv("X", "42")
    assert env_int("X", 1) == 42
    monkeypatch.setenv("X", "")
    assert env_int("X", 7) == 7


def test_env_list_splits_on_commas_and_drops_blanks(monkeypatch) -> None:
    monkeypatch.setenv("X", " a.example.com, ,b.example.com ")
    assert env_list("X", []) == ["a.example.com", "b.example.com"]
    monkeypatch.delenv("X")
    assert env_list("X", ["default"]) == ["default"]


def test_env_str_defaults_when_unset(monkeypatch) -> None:
    monkeypatch.delenv("X", raising=False)
    assert env_str("X", "fallback") == "fallback"


# --- portal.settings ---


def test_with_no_environment_it_uses_sqlite_and_eager_celery() -> None:
    values = settings_under()
    assert values["ENGINE"] == "django.db.backends.sqlite3"
    assert values["NAME"] == str(ROOT / "db.sqlite3")
    assert values["CELERY_TASK_ALWAYS_EAGER"] is True
    assert values["DEBUG"] is True
    assert values["TIME_ZONE"] == "Asia/Shanghai"


def test_database_url_is_parsed_into_the_default_database() -> None:
    values = settings_under(
        DATABASE_URL="postgres://posdesk:s3cret@db.example.com:5433/posdesk_prod",
        DB_CONN_MAX_AGE="30",
    )
    assert values["ENGINE"] == "django.db.backends.postgresql"
    assert values["NAME"] == "posdesk_prod"
    assert values["USER"] == "posdesk"
    assert values["PASSWORD"] == "s3cret"
    assert values["HOST"] == "db.example.com"
    assert values["PORT"] == 5433
    assert values["CONN_MAX_AGE"] == 30


def test_a_broker_url_turns_eager_celery_off() -> None:
    values = settings_under(CELERY_BROKER_URL="redis://127.0.0.1:6379/3")
    assert values["CELERY_TASK_ALWAYS_EAGER"] is False
    assert values["CELERY_BROKER_URL"] == "redis://127.0.0.1:6379/3"


def test_a_bad_boolean_in_the_environment_stops_start_up() -> None:
    result = run_python(["-c", PRINT_SETTINGS], "portal.settings", DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG must be true or false" in result.stderr


# --- portal.settings_production ---


def test_production_settings_pass_the_deploy_check() -> None:
    result = run_python(
        ["manage.py", "check", "--deploy"], "portal.settings_production", **production_env()
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "no issues" in output


def test_production_session_cookies_are_httponly_secure_and_samesite() -> None:
    values = settings_under("portal.settings_production", **production_env())
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_SAMESITE"] in {"Lax", "Strict"}
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 31536000
    assert values["DEBUG"] is False
    assert values["ENGINE"] == "django.db.backends.postgresql"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"SECRET_KEY": "too-short"}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": None}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": "a" * 60}, "SECRET_KEY must be set"),
        (
            {"SECRET_KEY": "change-me-to-at-least-fifty-random-characters-please-0123456789"},
            "placeholder",
        ),
        ({"DEBUG": "true"}, "DEBUG must be off"),
        ({"DATABASE_URL": None}, "DATABASE_URL must be set"),
        ({"ALLOWED_HOSTS": None}, "ALLOWED_HOSTS must be set"),
        ({"CELERY_BROKER_URL": None}, "CELERY_BROKER_URL must be set"),
        ({"CELERY_BROKER_URL": " "}, "CELERY_BROKER_URL must be set"),
        ({"SITE_URL": None}, "SITE_URL must be set"),
        ({"SITE_URL": "posdesk.example.com"}, "SITE_URL must be the public address"),
        ({"SITE_URL": "ftp://posdesk.example.com"}, "SITE_URL must be the public address"),
        ({"CACHE_URL": None}, "CACHE_URL must be set"),
        ({"CACHE_URL": "memcached://cache:11211"}, "CACHE_URL must be a redis:// URL"),
    ],
)
def test_production_settings_refuse_to_start_unsafe(
    overrides: dict[str, str | None], message: str
) -> None:
    result = run_python(
        ["-c", PRINT_SETTINGS], "portal.settings_production", **production_env(**overrides)
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_the_env_example_secret_key_is_refused_in_production() -> None:
    example = (ROOT / ".env.example").read_text()
    key = re.search(r"^SECRET_KEY=(.*)$", example, re.MULTILINE)[1]
    result = run_python(
        ["-c", PRINT_SETTINGS], "portal.settings_production", **production_env(SECRET_KEY=key)
    )
    assert result.returncode != 0


# --- documentation ---


def variables_read_by_settings() -> set[str]:
    names: set[str] = set()
    # The settings modules and the helper that builds MAILERS from EMAIL_* variables.
    for path in [*(ROOT / "portal").glob("settings*.py"), ROOT / "portal" / "env.py"]:
        text = path.read_text()
        names |= set(
            re.findall(r"env_(?:str|bool|int|positive_int|list|rate)\(\s*\"([A-Z0-9_]+)\"", text)
        )
        names |= set(re.findall(r"os\.environ\.get\(\s*\"([A-Z0-9_]+)\"", text))
    return names


def test_the_readme_documents_every_environment_variable() -> None:
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\|\s*`([A-Z0-9_]+)`", readme, re.MULTILINE))
    missing = variables_read_by_settings() - documented
    assert not missing, f"README.md does not document: {sorted(missing)}"


def test_production_mails_through_smtp_even_without_a_host_set() -> None:
    env = production_env()
    env.pop("EMAIL_HOST", None)
    values = settings_under("portal.settings_production", **env)
    assert values["MAILER_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"


def test_smtp_settings_come_from_the_environment() -> None:
    values = settings_under(
        "portal.settings", EMAIL_HOST="smtp.example.cn", EMAIL_PORT="587", EMAIL_USE_TLS="true"
    )
    assert values["MAILER_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert values["MAILER_OPTIONS"]["host"] == "smtp.example.cn"
    assert values["MAILER_OPTIONS"]["port"] == 587
    assert values["MAILER_OPTIONS"]["use_tls"] is True


def test_the_env_example_s3_secret_is_refused_in_production() -> None:
    example = (ROOT / ".env.example").read_text()
    secret = re.search(r"^MEDIA_S3_SECRET_ACCESS_KEY=(.*)$", example, re.MULTILINE)[1]
    s3 = {"MEDIA_STORAGE": "s3", "MEDIA_S3_BUCKET": "posdesk-media", "MEDIA_S3_ACCESS_KEY_ID": "k"}
    refused = run_python(
        ["-c", PRINT_SETTINGS],
        "portal.settings_production",
        **production_env(**s3, MEDIA_S3_SECRET_ACCESS_KEY=secret),
    )
    assert refused.returncode != 0
    assert "MEDIA_S3_SECRET_ACCESS_KEY is still the placeholder" in refused.stderr
    accepted = run_python(
        ["-c", PRINT_SETTINGS],
        "portal.settings_production",
        **production_env(**s3, MEDIA_S3_SECRET_ACCESS_KEY=secrets.token_urlsafe(30)),
    )
    assert accepted.returncode == 0, accepted.stderr
