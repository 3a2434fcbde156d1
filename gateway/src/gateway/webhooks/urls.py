"""Which URLs a webhook may target, checked when subscribing and again before every attempt.

A target must be `https` (plain `http` only with `GATEWAY_WEBHOOKS_ALLOW_HTTP=true`, for
development), carry no credentials or fragment, and its host must resolve only to globally
routable unicast addresses: loopback, private (RFC 1918, ULA), carrier-grade NAT, link-local
(including cloud metadata at 169.254.169.254), multicast, unspecified and reserved ranges are
refused, IPv4-mapped IPv6 addresses by the address they map to. Otherwise a subscriber could make
the gateway call services inside its own network (SSRF).

The check is repeated at delivery time and the attempt connects to the address that was checked
(the URL's host stays in `Host` and in TLS SNI/certificate verification), so a name that
resolved to a public address at subscription time and is later re-pointed at `127.0.0.1` (DNS
rebinding) is refused rather than followed. `GATEWAY_WEBHOOKS_ALLOW_PRIVATE=true` turns the
address check off, for development and tests on loopback.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

MAX_URL_LENGTH = 2048

Resolver = Callable[[str, int], Awaitable[list[str]]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class ForbiddenTargetError(ValueError):
    """The URL may not be used as a webhook target; the message says why."""


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (A and AAAA), via the system resolver."""
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


# NAT64 (RFC 6052 well-known prefix, RFC 8215 local use): the IPv4 address is the last 32 bits.
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    """The IPv4 addresses an IPv6 address carries, by the form that carries them: mapped,
    6to4 (2002::/16), Teredo (2001::/32: its server and its client), NAT64, IPv4-compatible."""
    found: list[tuple[str, ipaddress.IPv4Address]] = []
    if address.ipv4_mapped is not None:
        found.append(("IPv4-mapped", address.ipv4_mapped))
    if address.sixtofour is not None:
        found.append(("6to4", address.sixtofour))
    if address.teredo is not None:
        server, client = address.teredo
        found += [("Teredo server", server), ("Teredo client", client)]
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if any(address in net for net in _NAT64):
        found.append(("NAT64", low32))
    if int(address) >> 32 == 0 and int(address) > 1:
        found.append(("IPv4-compatible", low32))
    return found


def forbidden_reason(address: IPAddress) -> str | None:
    """Why an address may not be a webhook target, or None if it may."""
    if isinstance(address, ipaddress.IPv6Address):
        # An IPv4 address inside an IPv6 one reaches that IPv4 host through a relay or
        # translator: judge it as that host.
        for form, inner in embedded_ipv4(address):
            reason = forbidden_reason(inner)
            if reason is not None:
                return f"{reason} ({form} {inner})"
    for test, name in (
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (address.is_unspecified, "unspecified"),
        (address.is_private, "private"),
        (address.is_reserved, "reserved"),
    ):
        if test:
            return name
    if not address.is_global:
        return "not globally routable"
    return None


@dataclass(frozen=True)
class Target:
    """A checked target: where to connect, and what to say the host is."""

    url: str
    host_header: str | None = None
    extensions: dict[str, str] = field(default_factory=dict)


def parse(url: str, *, allow_http: bool) -> tuple[str, str, int]:
    """(scheme, host, port) of an acceptable URL; `ForbiddenTargetError` otherwise."""
    if len(url) > MAX_URL_LENGTH:
        raise ForbiddenTargetError(f"the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
        httpx.URL(url)  # what the delivery will use must accept it too
    except (ValueError, httpx.InvalidURL) as exc:
        raise ForbiddenTargetError(f"the URL cannot be parsed ({exc})") from None
    if any(c in url for c in "\x00\r\n\t "):
        raise ForbiddenTargetError("the URL contains whitespace or control characters")
    scheme = parts.scheme.lower()
    if scheme != "https" and not (allow_http and scheme == "http"):
        raise ForbiddenTargetError("the URL must use https")
    if parts.username is not None or parts.password is not None:
        raise ForbiddenTargetError("the URL must not carry credentials")
    if parts.fragment:
        raise ForbiddenTargetError("the URL must not have a fragment")
    if not parts.hostname:
        raise ForbiddenTargetError("the URL has no host")
    if port == 0:
        raise ForbiddenTargetError("the URL's port must be 1 to 65535")
    # The name as it goes on the wire (IDNA), for DNS, `Host` and SNI alike.
    host = httpx.URL(url).raw_host.decode("ascii")
    return scheme, host, port or (443 if scheme == "https" else 80)


async def check(
    url: str, *, allow_http: bool, allow_private: bool, resolver: Resolver = system_resolver
) -> Target:
    """Validate `url` and resolve its host; the `Target` pins the address that was checked."""
    scheme, host, port = parse(url, allow_http=allow_http)
    if allow_private:
        return Target(url)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = await resolver(host, port)
        except (OSError, UnicodeError, ValueError) as exc:
            raise ForbiddenTargetError(f"the host {host!r} does not resolve ({exc})") from None
        if not addresses:
            raise ForbiddenTargetError(f"the host {host!r} does not resolve")
    for raw in addresses:
        address = ipaddress.ip_address(raw.split("%", 1)[0])
        reason = forbidden_reason(address)
        if reason is not None:
            raise ForbiddenTargetError(
                f"the host {host!r} resolves to {address}, a {reason} address"
            )
    if literal is not None:
        return Target(url)
    # Connect to the address just checked; keep the name for Host, SNI and the certificate.
    pinned = ipaddress.ip_address(addresses[0].split("%", 1)[0])
    try:
        connect = httpx.URL(url).copy_with(host=str(pinned))
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise ForbiddenTargetError(f"the URL cannot be used ({exc})") from None
    default_port = port == (443 if scheme == "https" else 80)
    host_header = host if default_port else f"{host}:{port}"
    extensions = {"sni_hostname": host} if scheme == "https" else {}
    return Target(str(connect), host_header, extensions)
