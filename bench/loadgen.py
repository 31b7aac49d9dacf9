"""A small load generator: keep-alive HTTP clients on threads, standard library only.

Each `Client` behaves like a browser tab behind a TLS-terminating proxy: it keeps its
cookies, logs in through the real login form, sends the CSRF token from the form with
a matching Referer/Origin, and marks its requests `X-Forwarded-Proto: https` (the
production settings trust that header). It only ever talks to 127.0.0.1.

`run_phase` drives N clients for a bounded time and a bounded number of requests and
returns latency statistics.
"""

from __future__ import annotations

import http.client
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin, urlsplit

LOOPBACK = "127.0.0.1"


class BenchError(Exception):
    """A request answered something other than what the workload expects."""


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


class Client:
    """One keep-alive connection and one cookie jar: one browser."""

    def __init__(self, port: int, host: str = LOOPBACK, timeout: float = 30.0) -> None:
        if host != LOOPBACK:
            raise ValueError("the load generator only talks to 127.0.0.1")
        self.host, self.port, self.timeout = host, port, timeout
        self.origin = f"https://{host}:{port}"
        self.cookies: dict[str, str] = {}
        self.conn: http.client.HTTPConnection | None = None
        self.username: str | None = None
        self.filed = 0  # W1: tickets this client filed (accepted POSTs)
        self.filing_path: str | None = None  # W1: the filing form's URL after step 1
        self.extra_headers: dict[str, str] = {}  # W8: sent with every request

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self.conn

    def request(
        self, method: str, path: str, form: dict | list | None = None, referer: str | None = None
    ) -> Response:
        headers = {
            "Host": f"{self.host}:{self.port}",
            "User-Agent": "posdesk-bench/1",
            "Accept": "text/html",
            "X-Forwarded-Proto": "https",
        }
        headers.update(self.extra_headers)  # W8: an API key, and Accept: application/json
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = self.origin
            headers["Referer"] = referer or self.origin + path
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(method, path, body=body, headers=headers)
                raw = conn.getresponse()
                data = raw.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The server closed an idle keep-alive connection before our request
                # reached it: nothing was processed, so sending again is safe.
                self.close()
                if attempt == 2:
                    raise
                continue
            response = Response(raw.status, raw.getheaders(), data)
            if raw.will_close:
                self.close()
            self._store_cookies(response)
            return response
        raise AssertionError("unreachable")

    def _store_cookies(self, response: Response) -> None:
        for key, value in response.headers:
            if key.lower() != "set-cookie":
                continue
            pair, _sep, attrs = value.partition(";")
            name, _eq, val = pair.strip().partition("=")
            lowered = attrs.lower()
            if "max-age=0" in lowered.replace(" ", "") or "1970" in lowered:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = val

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def submit(self, path: str, form: Form, data: dict | list) -> Response:
        action = urlsplit(urljoin(path, form.action or path)).path
        return self.request(form.method.upper(), action, data, referer=self.origin + path)

    def login(self, username: str, password: str) -> None:
        page = self.get("/accounts/login/")
        if page.status != 200:
            raise BenchError(f"login page answered {page.status}")
        form = find_form(page.text, "password")
        data = form.data()
        data.update({"username": username, "password": password})
        response = self.submit("/accounts/login/", form, data)
        if response.status != 302 or "sessionid" not in self.cookies:
            raise BenchError(f"log-in of {username} failed ({response.status})")
        self.username = username


# --- forms --------------------------------------------------------------------------


@dataclass
class Field:
    name: str
    kind: str  # input type, "select" or "textarea"
    value: str = ""
    options: list[str] = field(default_factory=list)  # select options / radio values
    selected: str | None = None
    checked_values: list[str] = field(default_factory=list)  # checkboxes ticked
    required: bool = False


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, Field] = field(default_factory=dict)
    has_errors: bool = False

    def data(self) -> dict[str, str | list[str]]:
        """What a browser would send without the user touching anything."""
        out: dict[str, str | list[str]] = {}
        for f in self.fields.values():
            if f.kind in ("submit", "button", "file", "reset", "image"):
                continue
            if f.kind == "checkbox":
                if f.checked_values:
                    out[f.name] = list(f.checked_values)
            elif f.kind == "radio":
                if f.selected is not None:
                    out[f.name] = f.selected
            elif f.kind == "select":
                if f.selected is not None:
                    out[f.name] = f.selected
                elif f.options:
                    out[f.name] = f.options[0]
            else:
                out[f.name] = f.value
        return out


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._select: Field | None = None
        self._textarea: Field | None = None
        self._option: str | None = None
        self._option_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if "is-invalid" in a.get("class", "") or "invalid-feedback" in a.get("class", ""):
            if self.forms:
                self.forms[-1].has_errors = True
        if tag == "form":
            self.forms.append(Form(a.get("action", ""), a.get("method", "get") or "get"))
            return
        if not self.forms:
            return
        form = self.forms[-1]
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            existing = form.fields.get(name)
            if kind in ("checkbox", "radio"):
                if existing is None:
                    existing = form.fields[name] = Field(name, kind, required="required" in a)
                value = a.get("value", "on")
                existing.options.append(value)
                if "checked" in a:
                    if kind == "checkbox":
                        existing.checked_values.append(value)
                    else:
                        existing.selected = value
            else:
                form.fields[name] = Field(name, kind, a.get("value", ""), required="required" in a)
        elif tag == "button" and name and a.get("type", "submit").lower() == "submit":
            button = form.fields.setdefault(name, Field(name, "submit"))
            button.options.append(a.get("value", ""))
        elif tag == "select" and name:
            self._select = form.fields[name] = Field(name, "select", required="required" in a)
        elif tag == "option" and self._select is not None:
            self._option = a.get("value")
            self._option_text = []
            if "selected" in a:
                self._select.selected = a.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = form.fields[name] = Field(name, "textarea", required="required" in a)

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea.value += data
        if self._option is not None or self._select is not None:
            self._option_text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "option" and self._select is not None:
            value = self._option if self._option is not None else "".join(self._option_text)
            self._select.options.append(value.strip() if self._option is None else value)
            self._option = None
        elif tag == "textarea" and self._textarea is not None:
            # As in a browser: the newline right after <textarea> is not content.
            if self._textarea.value.startswith("\n"):
                self._textarea.value = self._textarea.value[1:]
            self._textarea = None


def parse_forms(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def find_form(html: str, with_field: str) -> Form:
    """The page's form that has `with_field` (e.g. the login form, not the log-out one)."""
    for form in parse_forms(html):
        if with_field in form.fields:
            return form
    raise BenchError(f"no form with a {with_field!r} field on the page")


# --- running a workload -------------------------------------------------------------


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass
class PhaseResult:
    name: str
    clients: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    total: int = 0  # transactions that succeeded, warm-up included (for CPU per transaction)
    error_samples: list[str] = field(default_factory=list)
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.latencies_ms)

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        return percentile(sorted(self.latencies_ms), p)


def run_phase(
    name: str,
    clients: list[Client],
    action: Callable[[Client], None],
    *,
    duration: float,
    warmup: float = 2.0,
    max_requests: int = 200_000,
) -> PhaseResult:
    """Run `action` in a loop on every client for `warmup` + `duration` seconds.

    One call of `action` is one transaction; it raises on a wrong answer. Latencies are
    recorded only after the warm-up, so the first hit of each gunicorn worker (imports,
    a new database connection) is not counted. Bounded by time and by `max_requests`.
    """
    lock = threading.Lock()
    result = PhaseResult(name, len(clients), duration)
    start = time.monotonic()
    measure_from = start + warmup
    stop_at = measure_from + duration
    budget = [max_requests]

    def loop(client: Client) -> None:
        while True:
            t0 = time.monotonic()
            if t0 >= stop_at:
                return
            with lock:
                if budget[0] <= 0:
                    return
                budget[0] -= 1
            error = None
            try:
                action(client)
            except Exception as exc:  # noqa: BLE001 - every failure is counted and sampled
                error = f"{type(exc).__name__}: {exc}"[:300]
                client.close()
            t1 = time.monotonic()
            if error is None:
                with lock:
                    result.total += 1
            if t0 < measure_from:
                continue
            with lock:
                if error is None:
                    result.latencies_ms.append((t1 - t0) * 1000)
                else:
                    result.errors += 1
                    if len(result.error_samples) < 5:
                        result.error_samples.append(error)
            if error is not None:
                time.sleep(0.05)  # a failing page must not spin the CPU

    threads = [threading.Thread(target=loop, args=(c,), daemon=True) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=warmup + duration + 60)
    result.seconds = max(0.001, min(time.monotonic(), stop_at) - measure_from)
    return result


def expect(response: Response, status: int, what: str) -> Response:
    if response.status != status:
        raise BenchError(f"{what}: expected {status}, got {response.status}")
    return response
