"""Reach a URL a stranger gave us (an input image, a webhook) without being turned against
the network we run in.

http(s) only. The host is resolved once; every address it resolves to must be
public (no loopback, private, link-local, CGNAT, multicast, reserved,
documentation, IPv4-mapped, NAT64, 6to4, Teredo or cloud-metadata addresses)
unless the operator allows private URLs or lists the host. The connection then
goes to the address that was checked (the Host header and TLS SNI keep the
name), so a second DNS answer cannot swap in a private address. Redirects are
followed by hand, at most 3, each hop checked again; size and time are capped.
The ranges are listed here rather than read from ``ipaddress.is_global``, whose
answers are wrong for some ranges on older Pythons (3.11.7 among them).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import SplitResult, urljoin, urlsplit

import httpx

from brushwork import tls
from brushwork.errors import InvalidInput, PayloadTooLarge

MAX_REDIRECTS = 3
TIMEOUT_SECONDS = 15.0

BLOCKED_NETWORKS = [
    ipaddress.ip_network(n)
    for n in (
        # IPv4: this network, private, CGNAT, loopback, link-local (cloud metadata), IETF,
        # documentation, 6to4 relay, benchmarking, multicast, reserved, broadcast
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        # IPv6: unspecified/loopback/IPv4-compatible, IPv4-mapped, NAT64 (both), discard,
        # IETF protocol assignments (Teredo among them), documentation, 6to4,
        # unique-local (fd00:ec2::254 metadata), link-local, multicast
        "::/96",
        "::ffff:0:0/96",
        "64:ff9b::/96",
        "64:ff9b:1::/48",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "2002::/16",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    )
]


def getaddrinfo(host: str, port: int) -> list[str]:
    """The host's addresses (a seam tests replace with a stub resolver)."""
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return False  # IPv4-mapped: refused outright, whatever it maps to
    return not any(ip in net for net in BLOCKED_NETWORKS if net.version == ip.version)


@dataclass(frozen=True)
class Policy:
    """Who may be reached: public addresses always; private ones only when allowed."""

    allow_private: bool = False
    allow_hosts: frozenset[str] = field(default_factory=frozenset)

    def permits(self, host: str) -> bool:
        return self.allow_private or host.lower() in self.allow_hosts


@dataclass(frozen=True)
class Target:
    url: str  # the URL with the checked address in place of the name
    headers: dict[str, str]
    extensions: dict[str, str]


def resolve(url: str, *, param: str, policy: Policy) -> Target:
    """Check ``url`` and pin it to one checked address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"{param} must be an http(s) URL, got {url[:80]!r}", param=param)
    host = parts.hostname
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = getaddrinfo(host, port)
    except (socket.gaierror, UnicodeError, ValueError):
        raise InvalidInput(f"{param}: cannot resolve host {host!r}", param=param) from None
    if not addresses:
        raise InvalidInput(f"{param}: host {host!r} has no address", param=param)
    if not policy.permits(host):
        for address in addresses:
            if not is_public(address):
                raise InvalidInput(
                    f"{param}: refusing to connect to {host!r}, which resolves to the "
                    f"non-public address {address}",
                    param=param,
                )
    return _pin(parts, addresses[0])


def _pin(parts: SplitResult, address: str) -> Target:
    literal = f"[{address}]" if ":" in address else address
    netloc = literal + (f":{parts.port}" if parts.port else "")
    extensions = {"sni_hostname": parts.hostname or ""} if parts.scheme == "https" else {}
    host_header = parts.netloc.rsplit("@", 1)[-1]
    return Target(parts._replace(netloc=netloc).geturl(), {"Host": host_header}, extensions)


@contextmanager
def open_pinned(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    param: str,
    policy: Policy,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Iterator[httpx.Response]:
    """Send one request to the checked address of ``url``; the caller reads the response."""
    target = resolve(url, param=param, policy=policy)
    request = client.build_request(
        method,
        target.url,
        content=content,
        headers={**(headers or {}), **target.headers},
        extensions=target.extensions,
    )
    response = client.send(request, stream=True, follow_redirects=False)
    try:
        yield response
    finally:
        response.close()


def fetch(url: str, *, param: str, max_bytes: int, policy: Policy | None = None) -> bytes:
    """GET a URL input: checked, pinned, redirects re-checked, capped in size and time."""
    policy = policy or Policy()
    with httpx.Client(timeout=TIMEOUT_SECONDS, verify=tls.context()) as client:
        for _ in range(MAX_REDIRECTS + 1):
            try:
                with open_pinned(client, "GET", url, param=param, policy=policy) as response:
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
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"{param}: the URL's body is over {max_bytes:,} bytes", param=param)
    chunks, total = [], 0
    for chunk in response.iter_bytes():
        total += len(chunk)
        if total > max_bytes:
            raise PayloadTooLarge(
                f"{param}: the URL's body is over {max_bytes:,} bytes", param=param
            )
        chunks.append(chunk)
    return b"".join(chunks)
