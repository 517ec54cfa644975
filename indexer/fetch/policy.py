"""Where a fetch may go: public addresses only, except a source's own origin when it says `allow_private: true`.

A watched page that redirects to 169.254.169.254 or to an intranet service, or a feed whose items link there, would
otherwise put that service's answer into the index, where any Slack user can ask for it. So every destination (the
first request, every redirect, every feed-item and listing link) is resolved and checked before it is requested, and
the address actually connected to is checked again before the body is read (a DNS answer can change in between).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..errors import FetchError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Ranges the stdlib flags do not all cover (CGNAT is not "private" to ipaddress; 0.0.0.0/8 reaches this host).
_EXTRA_BLOCKED = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "192.0.2.0/24", "198.18.0.0/15", "198.51.100.0/24",
    "203.0.113.0/24", "240.0.0.0/4", "255.255.255.255/32", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64",
    "2001::/23", "2001:db8::/32", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
))


def origin_of(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) with the scheme's default port filled in: what 'the same origin' compares."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        raise FetchError(f"{url}: bad port in the URL") from None
    return scheme, (parts.hostname or "").lower().rstrip("."), port or _DEFAULT_PORTS.get(scheme, 0)


def blocked(ip: IPAddress) -> str | None:
    """Why `ip` is not a public destination (loopback, private, link-local, CGNAT, ...), or None when it is."""
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if mapped is not None:
            return blocked(mapped)
    for flag in ("loopback", "unspecified", "link_local", "multicast", "reserved", "private"):
        if getattr(ip, f"is_{flag}"):
            return flag.replace("_", "-")
    for net in _EXTRA_BLOCKED:
        if ip.version == net.version and ip in net:
            return "CGNAT" if str(net) == "100.64.0.0/10" else "reserved"
    return None


def literal_ip(host: str) -> IPAddress | None:
    """The address when `host` is an IP literal (brackets allowed), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def system_resolver(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (all are checked: a client may connect to any of them)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise FetchError(f"cannot resolve {host} ({e})", hint="check the URL and the DNS; the next run tries again") from e
    return sorted({str(info[4][0]) for info in infos})


@dataclass(frozen=True)
class FetchPolicy:
    """What one source may reach. `origin` is the source's own (scheme, host, port)."""

    origin: tuple[str, str, int]
    allow_private: bool = False
    allow_hosts: frozenset[str] = field(default_factory=frozenset)
    resolver: Resolver = system_resolver

    @classmethod
    def for_url(cls, url: str, *, allow_private: bool = False, allow_hosts: Iterable[str] = (),
                resolver: Resolver | None = None) -> FetchPolicy:
        return cls(origin_of(url), allow_private, frozenset(h.lower().rstrip(".") for h in allow_hosts),
                   resolver or system_resolver)

    def is_own_origin(self, url: str) -> bool:
        return origin_of(url) == self.origin

    def may_follow(self, url: str) -> bool:
        """A feed item's link: the source's own host, or a host it lists in `allow_hosts`."""
        host = origin_of(url)[1]
        return host == self.origin[1] or host in self.allow_hosts

    def check(self, url: str) -> None:
        """FetchError unless `url` may be requested: http(s), and every address it resolves to public, unless it is
        the source's own origin and the source allows private addresses."""
        scheme, host, port = origin_of(url)
        if scheme not in ("http", "https") or not host:
            raise FetchError(f"{url}: only http and https URLs are fetched")
        if self.allow_private and (scheme, host, port) == self.origin:
            return
        ip = literal_ip(host)
        addresses = [str(ip)] if ip is not None else self.resolver(host, port)
        if not addresses:
            raise FetchError(f"cannot resolve {host}")
        for address in addresses:
            self.check_address(url, address)

    def check_address(self, url: str, address: str) -> None:
        """FetchError when `address` (resolved or connected to for `url`) is not a public one."""
        if self.allow_private and origin_of(url) == self.origin:
            return
        ip = literal_ip(address.split("%", 1)[0])
        reason = blocked(ip) if ip is not None else "not an IP address"
        if reason:
            own = "" if origin_of(url) == self.origin else " (not the source's own origin)"
            raise FetchError(
                f"{url}: refused: {origin_of(url)[1]} is a {reason} address ({address}){own}",
                hint="regwatch fetches only public addresses; for an intranet mirror set `allow_private: true` on "
                     "the source (it covers the source's own scheme, host and port only)",
            )
