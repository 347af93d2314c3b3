"""Outbound URLs a tenant controls (a model's base URL): what may be asked for, and where it may connect.

A tenant must not make our servers call inside our network (SSRF). The check is in two steps, both here
so the domain (which may not speak HTTP) and the HTTP transport in ``integrations/outbound.py`` share it:

- ``check_url``: the URL's shape alone. https (http too outside production); a host; no user name, query
  or fragment (the path is ours to append to); an address written in any notation (``2130706433``,
  ``0177.0.0.1``, ``0x7f000001``, ``127.1``, ``[::ffff:127.0.0.1]``) is read as the address it means.
- ``check_host``: the host resolved, and *every* address it resolves to refused if it is not on the
  public internet (loopback, private, link-local, multicast, unspecified, reserved, shared, the cloud
  metadata addresses, and IPv4 hidden in IPv6). The transport calls it again at connect time and connects
  to the address it checked, so a name that changes its answer in between (DNS rebinding) gains nothing.

Hosts an operator lists in ``BIZZLY_OUTBOUND_ALLOWED_HOSTS`` skip the address check on purpose (a model on
the office network; the fakes on 127.0.0.1 in tests).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from bizzly.errors import Invalid
from bizzly.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud metadata endpoints that are ordinary public addresses (the others are link-local or private).
_METADATA = (
    ipaddress.ip_network("168.63.129.16/32"),  # Azure wire server
    ipaddress.ip_network("192.0.0.192/32"),  # Oracle Cloud metadata
)
# IPv6 prefixes that carry an IPv4 address in their last 32 bits (NAT64, RFC 6052 and RFC 8215).
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


@dataclass(frozen=True)
class EgressPolicy:
    """Who may be called: ``https_only`` in production; ``allowed_hosts`` skip the address check."""

    https_only: bool
    allowed_hosts: frozenset[str]

    @classmethod
    def from_settings(cls, settings: Settings) -> EgressPolicy:
        hosts = (h.strip().lower().strip("[]") for h in settings.outbound_allowed_hosts.split(","))
        return cls(https_only=settings.env == "production", allowed_hosts=frozenset(h for h in hosts if h))

    def allows(self, host: str) -> bool:
        return host.lower().strip("[]") in self.allowed_hosts


@dataclass(frozen=True)
class Destination:
    """A checked URL: ``url`` as it will be called (an address literal written the standard way)."""

    url: str
    scheme: str
    host: str
    port: int


def literal_address(host: str) -> IPAddress | None:
    """The address a host written as an address means, in every notation the resolver accepts; None for a
    name. (``inet_aton`` reads decimal, octal, hex and short IPv4 forms exactly as ``getaddrinfo`` does.)"""
    bare = host.strip("[]")
    try:
        return ipaddress.ip_address(bare.split("%")[0])
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(bare))
    except (OSError, ValueError):
        return None


def refusal(address: IPAddress) -> str | None:
    """Why ``address`` may not be called, or None when it is an ordinary public address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address.teredo is not None:
            embedded = address.teredo[1]
        if embedded is None and any(address in net for net in _NAT64):
            embedded = ipaddress.IPv4Address(address.packed[-4:])
        if embedded is not None:
            return refusal(embedded) or ("an IPv4 address inside IPv6" if address.ipv4_mapped else None)
    if address.is_loopback:
        return "a loopback address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_link_local or any(address in net for net in _METADATA):
        return "a link-local or cloud metadata address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private or address.is_reserved or not address.is_global:
        return "a private or reserved address"
    return None


def _refused(url_part: str, why: str, *, field: str | None) -> Invalid:
    return Invalid(f"This base URL cannot be used: {url_part} is {why}.", field=field)


def check_url(url: str, policy: EgressPolicy, *, field: str) -> Destination:
    """The URL's shape, and an address literal's address (no look-up). Raises ``Invalid`` on ``field``."""
    example = "like https://api.openai.com/v1"
    try:
        parts = urlsplit(url)
        port = parts.port
        host = parts.hostname
    except ValueError:  # "https://[::1", a port that is not a number
        raise Invalid(f"Enter a web address, {example}.", field=field) from None
    schemes = ("https",) if policy.https_only else ("https", "http")
    if parts.scheme not in schemes or not host:
        what = "an https address" if policy.https_only else "a web address"
        raise Invalid(f"Enter {what}, {example}.", field=field)
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise Invalid("Leave the user name and password out of the base URL (use the API key).", field=field)
    if parts.query or parts.fragment or url.rstrip().endswith(("?", "#")):
        raise Invalid(f"Leave the query (?...) and fragment (#...) out, {example}.", field=field)
    port = port or (443 if parts.scheme == "https" else 80)
    address = literal_address(host)
    if address is not None:
        # Written the standard way, so what we check is what the resolver and the TLS layer see.
        host = address.compressed
        if not policy.allows(host):
            why = refusal(address)
            if why is not None:
                raise _refused(str(address), why, field=field)
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc = f"{netloc}:{port}"
    clean = f"{parts.scheme}://{netloc}{parts.path}".rstrip("/")
    return Destination(url=clean, scheme=parts.scheme, host=host, port=port)


async def resolve(host: str, port: int, policy: EgressPolicy, *, field: str | None) -> list[str]:
    """Every address ``host`` resolves to, each checked; raises ``Invalid`` when any is refused (a name
    with one public and one private address is refused whole) or when the name cannot be found."""
    address = literal_address(host)
    if address is not None:
        found = [address.compressed]
    else:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise Invalid(f"The host {host!r} of this base URL cannot be found.", field=field) from None
        found = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if policy.allows(host):
        return found
    for text in found:
        why = refusal(ipaddress.ip_address(text.split("%")[0]))
        if why is not None:
            raise _refused(f"{host} ({text})" if text != host else text, why, field=field)
    if not found:
        raise Invalid(f"The host {host!r} of this base URL cannot be found.", field=field)
    return found


async def check_destination(url: str, policy: EgressPolicy, *, field: str) -> Destination:
    """``check_url`` and then ``resolve``: what a service runs when a tenant saves such a URL."""
    destination = check_url(url, policy, field=field)
    await resolve(destination.host, destination.port, policy, field=field)
    return destination
