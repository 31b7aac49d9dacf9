"""An uploaded file between its preview and its confirmation.

The file's text waits in the session (capped by devices.importer's size limits), never
in a path the client could name, bound to whose upload it is (a merchant, a provider)
and to its digest: the confirm button carries the digest, so a confirmation applies
exactly the file its preview showed, and only for the same owner.
"""

from __future__ import annotations

import hashlib

from django.http import HttpRequest


def digest_of(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def hold(request: HttpRequest, key: str, *, owner: int, text: str) -> str:
    """Keep `text` until it is confirmed; its digest, for the confirm form."""
    digest = digest_of(text)
    request.session[key] = {"owner": owner, "digest": digest, "text": text}
    return digest


def held(request: HttpRequest, key: str, *, owner: int, digest: str) -> str | None:
    """The text waiting under `key` for `owner` with this digest, or None."""
    pending = request.session.get(key)
    if (
        not isinstance(pending, dict)
        or pending.get("owner") != owner
        or not digest
        or pending.get("digest") != digest
    ):
        return None
    return pending.get("text")


def drop(request: HttpRequest, key: str) -> None:
    request.session.pop(key, None)
