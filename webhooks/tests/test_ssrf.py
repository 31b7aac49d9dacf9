"""The SSRF guard: private, loopback, link-local and other non-public addresses are
refused, typed as such or behind a DNS name, before any connection is made."""

from __future__ import annotations

import socket

import pytest

from webhooks import http

REFUSED = [
    "10.0.0.1",
    "10.255.255.254",
    "172.16.0.1",
    "172.31.255.254",
    "192.168.1.1",
    "127.0.0.1",
    "127.8.9.10",
    "169.254.169.254",  # the cloud metadata service
    "0.0.0.0",
    "100.64.0.1",
    "224.0.0.1",
    "240.0.0.1",
    "::1",
    "fc00::1",
    "fd12:3456::1",
    "fe80::1",
    "::ffff:10.0.0.1",
    "::ffff:127.0.0.1",
    "ff02::1",
    "::",
]


def _resolving_to(monkeypatch, *addresses: str) -> None:  # noqa: ANN001
    def fake(host, port, *args, **kwargs):  # noqa: ANN001, ANN202
        return [
            (
                socket.AF_INET6 if ":" in address else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (address, port, 0, 0) if ":" in address else (address, port),
            )
            for address in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake)


@pytest.mark.parametrize("address", REFUSED)
def test_it_refuses_a_non_public_address_typed_in_the_url(address: str, settings) -> None:  # noqa: ANN001
    settings.WEBHOOKS_ALLOW_LOOPBACK = False
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(http.Refused):
        http.check_url(f"http://{host}/hook")


@pytest.mark.parametrize("address", REFUSED)
def test_it_refuses_a_name_resolving_to_a_non_public_address(
    address: str,
    monkeypatch,
    settings,  # noqa: ANN001
) -> None:
    settings.WEBHOOKS_ALLOW_LOOPBACK = False
    _resolving_to(monkeypatch, address)
    with pytest.raises(http.Refused):
        http.check_url("https://crm.example.com/hook")


def test_one_private_address_among_public_ones_is_enough_to_refuse(monkeypatch, settings) -> None:  # noqa: ANN001
    settings.WEBHOOKS_ALLOW_LOOPBACK = False
    _resolving_to(monkeypatch, "93.184.215.14", "10.1.2.3")
    with pytest.raises(http.Refused):
        http.check_url("https://crm.example.com/hook")


def test_a_public_address_is_allowed_and_the_connection_goes_to_it(monkeypatch, settings) -> None:  # noqa: ANN001
    settings.WEBHOOKS_ALLOW_LOOPBACK = False
    _resolving_to(monkeypatch, "93.184.215.14")
    assert http.check_url("https://crm.example.com:8443/hook?x=1") == (
        "https",
        "crm.example.com",
        8443,
        http.ipaddress.ip_address("93.184.215.14"),
    )


def test_the_loopback_setting_opens_loopback_only(settings) -> None:  # noqa: ANN001
    settings.WEBHOOKS_ALLOW_LOOPBACK = True
    assert http.check_url("http://127.0.0.1:9/hook")[3] == http.ipaddress.ip_address("127.0.0.1")
    assert http.check_url("http://[::1]:9/hook")[0] == "http"
    for address in ("10.0.0.1", "192.168.0.1", "169.254.169.254", "[fc00::1]"):
        with pytest.raises(http.Refused):
            http.check_url(f"http://{address}/hook")


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/", "file:///etc/passwd", "http://user:pw@example.com/", "http:///path"],
)
def test_it_refuses_what_is_not_a_plain_http_url(url: str) -> None:
    with pytest.raises(http.Refused):
        http.check_url(url)


def test_a_refused_url_is_never_connected_to(monkeypatch, settings) -> None:  # noqa: ANN001
    settings.WEBHOOKS_ALLOW_LOOPBACK = False
    _resolving_to(monkeypatch, "192.168.0.10")

    def no_connection(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("connected")

    monkeypatch.setattr(socket, "create_connection", no_connection)
    answer = http.post("http://printer.lan/hook", b"{}", {}, timeout=1)
    assert answer.status is None
    assert "192.168.0.10" in answer.error
