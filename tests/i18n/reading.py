"""Reading PosDesk as each role, in each language, for the language tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from urllib.parse import parse_qsl, urlsplit

from django.conf import settings
from django.core.cache import cache
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpResponse
from django.test import Client
from django.utils import translation

from portal.models import User
from tests.factories import UserFactory
from tests.i18n.conftest import LivedIn, set_language
from tests.i18n.englishfinder import compare_html

LANGUAGES = ("en", "zh-hans")
# Each language's name in itself, as the language switch offers it.
OWN_NAMES = frozenset(
    translation.get_language_info(code)["name_local"] for code, _name in settings.LANGUAGES
)


@dataclass
class Who:
    role: str
    user: User | None
    # What a log-in leaves in a session (see `log_in`): each request gets a new session
    # holding it.
    logged_in: dict[str, object] = field(default_factory=dict)


def people(lived: LivedIn) -> dict[str, Who]:
    w = lived.world
    nobody = UserFactory(username="nora")  # logged in, but no shop or provider yet
    return {
        "merchant": Who("merchant", w.alice),
        "technician": Who("technician", w.xavier),
        "no_role": Who("no_role", nobody),
        "visitor": Who("visitor", None),
    }


def reader(lived: LivedIn, role: str) -> Who:
    """The person of `role` (see `people`), logged in once (`log_in`) before any page."""
    who = people(lived)[role]
    log_in(who)
    return who


def log_in(who: Who) -> None:
    """Log `who` in once, as `Client.force_login` does (signals and all: last_login,
    the log-in's records), and keep what that left in the session. Each request is then
    made in a session of its own holding the same (see `as_reader`), which is what a new
    force_login per request gave, without a log-in's writes on every page."""
    if who.user is None:
        return
    client = Client()
    client.force_login(who.user)
    who.logged_in = dict(client.session.items())
    assert who.logged_in, "the log-in left nothing in the session"


def _session_for(client: Client, who: Who) -> None:
    """A new session holding `who`'s log-in (`log_in`), its cookie set in `client` as
    `Client.force_login` sets it."""
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session.update(who.logged_in)
    session.save()
    name = settings.SESSION_COOKIE_NAME
    client.cookies[name] = session.session_key
    client.cookies[name].update(
        {
            "max-age": None,
            "path": "/",
            "domain": settings.SESSION_COOKIE_DOMAIN,
            "secure": settings.SESSION_COOKIE_SECURE or None,
            "expires": None,
        }
    )


class Typed:
    """A test client that notes what its person typed (query strings, form fields, the
    names and cells of files sent): a page shows it back, and it is theirs."""

    def __init__(self, client: Client, typed: set[str]) -> None:
        self.client = client
        self.typed = typed

    def _note(self, path: str, data: dict | None) -> None:
        self.typed.update(value for _key, value in parse_qsl(urlsplit(path).query))
        for value in (data or {}).values():
            for item in value if isinstance(value, list | tuple) else [value]:
                if isinstance(item, UploadedFile):
                    self.typed.add(item.name)
                    if item.name.endswith(".csv"):
                        item.seek(0)
                        text = item.read().decode(errors="replace")
                        item.seek(0)
                        self.typed.update(
                            cell for line in text.splitlines() for cell in line.split(",")
                        )
                elif isinstance(item, str | int):
                    self.typed.add(str(item))

    def get(self, path: str, data: dict | None = None, **extra: object) -> HttpResponse:
        self._note(path, data)
        return self.client.get(path, data, **extra)

    def post(self, path: str, data: dict | None = None, **extra: object) -> HttpResponse:
        self._note(path, data)
        return self.client.post(path, data, **extra)


def as_reader(
    who: Who, language: str, request: Callable[[Typed], HttpResponse], typed: set[str]
) -> HttpResponse:
    """`request` made by `who` reading `language`: a user's own setting (which wins over
    the browser's), a visitor's browser. Rate limits start afresh for each language.
    A user gets a new session with their log-in (see `reader`), logged in on the spot
    if `log_in` was not done yet."""
    cache.clear()
    set_language(who.user, language)
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    if who.user is not None:
        if who.logged_in:
            _session_for(client, who)
        else:
            client.force_login(who.user)
    return request(Typed(client, typed))


def is_page(response: HttpResponse) -> bool:
    return "text/html" in response.get("Content-Type", "")


def findings(english: HttpResponse, chinese: HttpResponse, data: set[str]) -> list[str]:
    """What is English on the Chinese page, the same request's English page beside it;
    `data` is what people entered (conftest.entered_data, and what the request typed)."""
    assert chinese.status_code == english.status_code, (
        f"{english.status_code} in English, {chinese.status_code} in Chinese"
    )
    return compare_html(
        english.content.decode(), chinese.content.decode(), data, own_names=OWN_NAMES
    )


def report(found: dict[str, list[str]], what: str = "Chinese pages") -> str:
    """Each English text once, with where it was found."""
    lines = [f"{len(found)} English text(s) on {what}:"]
    for finding, where in sorted(found.items()):
        more = f" and {len(where) - 2} more" if len(where) > 2 else ""
        lines.append(f"  {finding}    [{', '.join(where[:2])}{more}]")
    return "\n".join(lines)
