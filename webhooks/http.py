"""POSTing to an endpoint without letting it reach inside our network (SSRF).

A manager types any URL. Before each request its host is resolved here and every
address checked: private (10/8, 172.16/12, 192.168/16, fc00::/7), loopback (127/8,
::1), link-local (169.254/16 with the cloud metadata service, fe80::/10), multicast,
reserved, unspecified and shared (100.64/10) addresses are refused, also inside an
IPv4-mapped IPv6 address. The connection then goes to the address that was checked,
never to a second resolution of the name (a DNS answer that changes in between, "DNS
rebinding", cannot slip a private address in); the Host header and TLS (SNI and the
certificate check) still use the name. Redirects are never followed: a 3xx is the
endpoint's answer, logged as such, so a public URL cannot bounce us to a private one.

WEBHOOKS_ALLOW_LOOPBACK lets tests reach a server on 127.0.0.1 / ::1; nothing else.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Not covered by is_private in every Python version, or not "private" but still ours.
_ALSO_REFUSED = [
    ipaddress.ip_network("100.64.0.0/10"),  # carrier-grade NAT (shared address space)
    ipaddress.ip_network("192.0.0.0/24"),  # IETF protocol assignments
    ipaddress.ip_network("198.18.0.0/15"),  # benchmarking
    ipaddress.ip_network("64:ff9b::/96"),  # NAT64: would reach an IPv4 address behind it
]


REASONS = {
    "loopback": gettext_lazy("a loopback"),
    "link-local": gettext_lazy("a link-local"),
    "multicast": gettext_lazy("a multicast"),
    "unspecified": gettext_lazy("an unspecified"),
    "private": gettext_lazy("a private"),
    "reserved": gettext_lazy("a reserved"),
    "not public": gettext_lazy("a non-public"),
}


class Refused(Exception):
    """The URL may not be called; the message is for the manager."""


def refusal(address: IPAddress, *, allow_loopback: bool) -> str | None:
    """Why `address` may not be called, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return refusal(address.ipv4_mapped, allow_loopback=allow_loopback)
    if address.is_loopback:
        return None if allow_loopback else "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.is_unspecified:
        return "unspecified"
    if address.is_private:
        return "private"
    if address.is_reserved:
        return "reserved"
    if any(address in network for network in _ALSO_REFUSED):
        return "reserved"
    if not address.is_global:
        return "not public"
    return None


def resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise Refused(_("The host %(host)s cannot be found.") % {"host": host}) from error
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        # An IPv6 sockaddr may carry a zone ("fe80::1%eth0"): the address is before it.
        address = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise Refused(_("The host %(host)s cannot be found.") % {"host": host})
    return addresses


def check_url(url: str) -> tuple[str, str, int, IPAddress]:
    """(scheme, host, port, the address to connect to), or Refused. Every address the
    name resolves to must be allowed: a name with one private address among public
    ones is refused, whichever one a connection would pick."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused(_("Give an http:// or https:// URL."))
    if parts.username or parts.password:
        raise Refused(_("A URL with a user name or password is not accepted."))
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise Refused(_("The URL's port is not valid.")) from error
    allow_loopback = settings.WEBHOOKS_ALLOW_LOOPBACK
    addresses = resolve(parts.hostname, port)
    for address in addresses:
        reason = refusal(address, allow_loopback=allow_loopback)
        if reason is not None:
            raise Refused(
                _("%(host)s is %(reason)s address (%(address)s): PosDesk only calls public ones.")
                % {"host": parts.hostname, "reason": REASONS[reason], "address": address}
            )
    return parts.scheme, parts.hostname, port, addresses[0]


@dataclass
class Answer:
    status: int | None
    body: str
    duration_ms: int
    error: str = ""


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the checked address; the Host header keeps the name."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        # SNI and the certificate check are for the name the manager typed.
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> Answer:
    """POST `body` to `url` once; never follows a redirect. Refused before connecting
    when the URL fails the guard."""
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        scheme, host, port, address = check_url(url)
    except Refused as error:
        return Answer(None, "", elapsed(), str(error))
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection_class = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(host, port, str(address), timeout)
    try:
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        excerpt = response.read(settings.WEBHOOKS_RESPONSE_EXCERPT * 4)
        return Answer(
            response.status,
            excerpt.decode("utf-8", "replace")[: settings.WEBHOOKS_RESPONSE_EXCERPT],
            elapsed(),
        )
    except (OSError, http.client.HTTPException) as error:
        return Answer(None, "", elapsed(), f"{type(error).__name__}: {error}"[:500])
    finally:
        connection.close()
