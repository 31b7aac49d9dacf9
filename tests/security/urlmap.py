"""Every URL pattern of the project, and how to point each of its ids at a foreign object.

The security tests iterate `project_urls()`, so a new pattern is covered the moment
it is added to a `urls.py`. Ids are filled from `KWARG_KINDS`: a URL keyword nobody
has described yet makes the scope matrix fail with a message naming it, so whoever
adds `<int:widget_id>` must say here which object it points at.
"""

from __future__ import annotations

import fnmatch
import itertools
from dataclasses import dataclass, field

from django.urls import URLPattern, URLResolver, get_resolver, reverse

# (url name glob, keyword) -> the kind of object the keyword points at. First match wins.
KWARG_KINDS: list[tuple[str, str, str]] = [
    ("devices:*", "pk", "device"),
    ("terminals:*", "pk", "device"),
    ("tickets:attachment*", "pk", "attachment"),
    ("tickets:queue*", "pk", "queue"),
    ("tickets:canned*", "pk", "canned"),
    ("tickets:saved_view_new", "pk", "queue"),
    ("tickets:saved_view_delete", "pk", "saved_view"),
    ("tickets:*", "queue", "queue"),
    ("tickets:*", "queue_pk", "queue"),
    ("tickets:*", "reference", "ticket"),
    ("outages:*", "pk", "incident"),
    ("outages:*", "reference", "ticket"),
    ("repairs:*", "reference", "ticket"),
    # A queue's list as CSV or XLSX (reports, issue 15).
    ("reports:queue_export", "pk", "queue"),
    # A provider's webhooks (issue 16): its managers' endpoints and deliveries.
    ("webhooks:delivery", "pk", "webhook_delivery"),
    ("webhooks:redeliver", "pk", "webhook_delivery"),
    ("webhooks:*", "pk", "webhook"),
    # The REST API (issue 16); api/tests/test_scope_matrix.py walks these with keys.
    ("api:terminal*", "pk", "device"),
    ("api:queue*", "pk", "queue"),
    ("api:incident*", "pk", "incident"),
    ("api:ticket*", "reference", "ticket"),
]

# Keywords that pick a file format or a report's table, not an object (reports, issue 15):
# every caller asks with the same value, so they have no "another user's" variant.
FIXED_KWARGS: list[tuple[str, str, str]] = [
    ("reports:*", "fmt", "csv"),
    ("reports:export", "table", "breakdown"),
]

# Reachable without logging in (everything else redirects to log-in, or is a 404/405).
PUBLIC = {
    "login",
    # Getting back in without the password (portal.accounts).
    "password_reset",
    "password_reset_done",
    "password_reset_complete",
    # The language switch works before log-in too (portal.language).
    "set_language",
    # Probes of a load balancer or compose: no log-in, nothing secret (ops.health).
    "ops:healthz",
    "ops:readyz",
}

# Reached with a signed one-time token, not an object's id: no scope to check here
# (portal/tests/test_password_reset.py tests the token).
TOKEN_URLS = {"password_reset_confirm"}

# Namespaces whose own access control is tested by their authors (Django's admin).
SKIPPED_NAMESPACES = {"admin"}


@dataclass(frozen=True)
class ProjectUrl:
    name: str  # "namespace:name"
    route: str
    kwargs: tuple[str, ...] = field(default=())

    def __str__(self) -> str:
        return self.name


def _walk(patterns, namespace: str, prefix: str, kwargs: tuple[str, ...]):  # noqa: ANN001, ANN202
    for entry in patterns:
        converters = tuple(getattr(entry.pattern, "converters", {}).keys()) or tuple(
            entry.pattern.regex.groupindex.keys()
        )
        if isinstance(entry, URLResolver):
            if entry.namespace in SKIPPED_NAMESPACES:
                continue
            inner = ":".join(part for part in (namespace, entry.namespace) if part)
            yield from _walk(
                entry.url_patterns, inner, prefix + str(entry.pattern), kwargs + converters
            )
        elif isinstance(entry, URLPattern) and entry.name:
            name = f"{namespace}:{entry.name}" if namespace else entry.name
            yield ProjectUrl(name, prefix + str(entry.pattern), kwargs + converters)


def project_urls() -> list[ProjectUrl]:
    """Every named URL pattern outside the skipped namespaces, in urls.py order."""
    seen: dict[str, ProjectUrl] = {}
    for url in _walk(get_resolver().url_patterns, "", "/", ()):
        if url.name not in TOKEN_URLS:
            seen.setdefault(url.name, url)
    return list(seen.values())


def kind_of(url_name: str, kwarg: str) -> str | None:
    for glob, name, kind in KWARG_KINDS:
        if name == kwarg and fnmatch.fnmatchcase(url_name, glob):
            return kind
    return None


class UnknownKwarg(Exception):
    pass


def fixed_kwargs(url: ProjectUrl) -> dict[str, str]:
    """The keywords of `url` that are not objects (`FIXED_KWARGS`), with their value."""
    fixed = {}
    for kwarg in url.kwargs:
        for glob, name, value in FIXED_KWARGS:
            if name == kwarg and fnmatch.fnmatchcase(url.name, glob):
                fixed[kwarg] = value
                break
    return fixed


def kinds_for(url: ProjectUrl) -> dict[str, str]:
    """The object each of `url`'s keywords points at (the fixed ones left out)."""
    kinds = {}
    fixed = fixed_kwargs(url)
    for kwarg in url.kwargs:
        if kwarg in fixed:
            continue
        kind = kind_of(url.name, kwarg)
        if kind is None:
            raise UnknownKwarg(
                f"{url.name} ({url.route}) takes <{kwarg}>, which tests/security/urlmap.py "
                "KWARG_KINDS does not describe: add which object it points at, so the scope "
                "matrix can request it with another merchant's / provider's object."
            )
        kinds[kwarg] = kind
    return kinds


def foreign_variants(
    url: ProjectUrl, own: dict[str, object], foreign: dict[str, object]
) -> list[tuple[str, dict[str, object]]]:
    """URLs with at least one id pointing outside the user's scope (every mix of the rest).

    `own` and `foreign` map an object kind to the id to use. A mix such as my
    ticket's reference with another merchant's attachment id is where a view that
    checks only the first id leaks the second.
    """
    kinds = kinds_for(url)
    names = list(kinds)
    variants = []
    for choice in itertools.product((False, True), repeat=len(names)):
        if not any(choice):
            continue
        kwargs = {
            **fixed_kwargs(url),
            **{
                name: (foreign if is_foreign else own)[kinds[name]]
                for name, is_foreign in zip(names, choice, strict=True)
            },
        }
        label = ",".join(
            f"{name}={'foreign' if is_foreign else 'own'}"
            for name, is_foreign in zip(names, choice, strict=True)
        )
        variants.append((label, kwargs))
    return variants


def own_url(url: ProjectUrl, own: dict[str, object]) -> str:
    kinds = kinds_for(url)
    kwargs = {name: own[kind] for name, kind in kinds.items()}
    return reverse(url.name, kwargs={**fixed_kwargs(url), **kwargs})
