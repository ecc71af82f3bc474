"""Fetch a URL input for a task, refusing to be turned against the network we run in.

http(s) only; every address the host resolves to must be public (no loopback,
private, link-local, CGNAT, multicast, reserved or metadata addresses) unless
the operator allows private hosts; redirects are followed by hand (at most 3)
and each hop is checked again; size and time are capped.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urljoin, urlsplit

import httpx

from brushwork.errors import InvalidInput, PayloadTooLarge

MAX_REDIRECTS = 3
TIMEOUT_SECONDS = 15.0

_BLOCKED = [
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "64:ff9b::/96",
        "64:ff9b:1::/48",
        "100::/64",
        "2001:db8::/32",
        "2002::/16",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    )
]


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not any(ip in net for net in _BLOCKED if net.version == ip.version)


def check_url(url: str, *, param: str, allow_private: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"{param} must be an http(s) URL, got {url[:80]!r}", param=param)
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except socket.gaierror:
        raise InvalidInput(
            f"{param}: cannot resolve host {parts.hostname!r}", param=param
        ) from None
    for info in infos:
        address = str(info[4][0])
        if not is_public(address):
            raise InvalidInput(
                f"{param}: refusing to fetch {parts.hostname!r}, which resolves to the "
                f"non-public address {address}",
                param=param,
            )


def fetch(url: str, *, param: str, max_bytes: int, allow_private: bool = False) -> bytes:
    with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            check_url(url, param=param, allow_private=allow_private)
            try:
                with client.stream("GET", url) as response:
                    if response.is_redirect:
                        url = urljoin(url, response.headers.get("location", ""))
                        continue
                    if response.status_code != 200:
                        raise InvalidInput(
                            f"{param}: fetching the URL returned HTTP {response.status_code}",
                            param=param,
                        )
                    return _read_capped(response, param, max_bytes)
            except httpx.HTTPError as exc:
                raise InvalidInput(
                    f"{param}: could not fetch the URL: {exc}", param=param
                ) from None
    raise InvalidInput(f"{param}: more than {MAX_REDIRECTS} redirects", param=param)


def _read_capped(response: httpx.Response, param: str, max_bytes: int) -> bytes:
    chunks, total = [], 0
    for chunk in response.iter_bytes():
        total += len(chunk)
        if total > max_bytes:
            raise PayloadTooLarge(
                f"{param}: the URL's body is over {max_bytes:,} bytes", param=param
            )
        chunks.append(chunk)
    return b"".join(chunks)
