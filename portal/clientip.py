"""The client's address, also behind reverse proxies (django-axes' AXES_CLIENT_IP_CALLABLE).

Each proxy appends the address it got the request from to X-Forwarded-For. With
TRUSTED_PROXY_COUNT = n, the n-th entry from the right was written by the outermost of
our own proxies, and is the client's address; anything to its left was sent by the
client and may be made up. With n = 0 (no proxy, the embedded default), or when the
header holds fewer entries than there are proxies (a request that did not come through
them), the peer's address, REMOTE_ADDR.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    header = request.META.get("HTTP_X_FORWARDED_FOR", "")
    forwarded = [entry.strip() for entry in header.split(",") if entry.strip()]
    if len(forwarded) < proxies:
        return remote
    return _address(forwarded[-proxies]) or remote


def _address(entry: str) -> str | None:
    """The address of one X-Forwarded-For entry (some proxies add the port), or None."""
    if entry.startswith("["):  # [2001:db8::1]:443
        entry = entry[1:].partition("]")[0]
    elif entry.count(":") == 1:  # 203.0.113.7:51234
        entry = entry.partition(":")[0]
    try:
        return str(ipaddress.ip_address(entry))
    except ValueError:
        return None
