"""Listen and upstream addresses: their syntax (``host:port``, as Go's net.SplitHostPort)
and the policy of where the server may listen and forward to.

By default everything stays on this host. The API and the proxies listen on loopback only,
and an upstream is a host name (a compose service, resolved where the proxy runs) or a
loopback or private address. Two choices belong to whoever starts the server, not to API
clients: listening beyond loopback (``allow_remote``: a proxy on 0.0.0.0 lets anyone on the
network through, and an API there lets anyone inject faults), and forwarding to a public
address (``allow_public_upstreams``: the proxy would relay to the internet). The bundled
replica's proxy runs in a container where 0.0.0.0 is the only useful address; its compose
command says ``--allow-remote``.

Host names are checked for their syntax only, not resolved: the name of a compose service
means something only on the compose network, and it may resolve later than the proxy is
created.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass

from .errors import invalid_address, not_allowed

__all__ = [
    "Address",
    "Policy",
    "check_listen",
    "check_upstream",
    "is_loopback",
    "join_host_port",
    "parse_address",
    "split_host_port",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Not "public": what a proxy of a local replica may forward to without being told. Python's
# is_private is not this: it counts the documentation ranges (203.0.113.0/24 and so on) in.
_LOCAL_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in (
        "127.0.0.0/8",  # loopback
        "10.0.0.0/8",  # RFC 1918, and Docker's networks
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",  # RFC 6598 shared space: Kubernetes pods, Tailscale
        "169.254.0.0/16",  # link-local
        "::1/128",
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
    )
)

# RFC 1123 labels; an underscore too, which Docker's DNS resolves in container names.
_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_HOST_NAME = re.compile(rf"(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*\.?", re.ASCII)


@dataclass(frozen=True)
class Policy:
    """What the operator allowed when starting the server (both off by default)."""

    allow_remote: bool = False
    allow_public_upstreams: bool = False


@dataclass(frozen=True)
class Address:
    """A checked ``host:port``; ``ip`` is None for a host name (or an empty host)."""

    host: str
    port: int
    ip: IPAddress | None

    @property
    def loopback(self) -> bool:
        if self.ip is None:
            return self.host.lower().rstrip(".") == "localhost"
        return is_loopback(self.ip)

    @property
    def local(self) -> bool:
        ip = self.ip
        if ip is None:
            return True
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in network for network in _LOCAL_NETWORKS)


def is_loopback(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


def split_host_port(address: str, what: str = "address") -> tuple[str, int]:
    """'host:port' or '[v6]:port' -> (host, port), as Go's net.SplitHostPort; the port is
    0..65535 and the host may be empty (':8474')."""
    host, sep, port = address.rpartition(":")
    if not sep:
        raise invalid_address(what, address, "missing port in address")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise invalid_address(what, address, "too many colons in address (write [v6]:port)")
    # isascii: str.isdigit accepts other scripts' digits, which int() then reads.
    if not (port.isascii() and port.isdigit()):
        raise invalid_address(what, address, "the port must be a number")
    # The length first: int() refuses strings of more than 4300 digits with a ValueError.
    if len(port.lstrip("0")) > 5 or int(port) > 65535:
        raise invalid_address(what, address, "the port must be 0..65535")
    return host, int(port)


def join_host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_address(address: str, what: str) -> Address:
    """The syntax of an address; what may be done with it is for ``check_*``."""
    host, port = split_host_port(address, what)
    if not host:
        return Address(host, port, None)
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is not None:
        return Address(host, port, ip)
    if _is_legacy_ipv4(host):
        # '0', '127.1' or '0x7f.1' would pass as a host name, but the resolver reads them
        # as IPv4 addresses ('0' is 0.0.0.0): refuse what could dodge the policy.
        raise invalid_address(what, address, "write an IPv4 address as four decimal numbers")
    if not _HOST_NAME.fullmatch(host):
        raise invalid_address(what, address, "the host is neither an IP address nor a host name")
    return Address(host, port, None)


def _is_legacy_ipv4(host: str) -> bool:
    try:
        socket.inet_aton(host)
    except (OSError, ValueError):  # ValueError: a NUL character
        return False
    return True


def check_listen(address: str, policy: Policy, what: str = "listen address") -> Address:
    """An address to listen on: on loopback unless the policy allows more."""
    parsed = parse_address(address, what)
    if not parsed.loopback and not policy.allow_remote:
        reason = (
            "listens on every interface" if not parsed.host else "is beyond loopback (127.0.0.1)"
        )
        raise not_allowed(what, address, reason, "--allow-remote")
    return parsed


def check_upstream(address: str, policy: Policy, what: str = "upstream") -> Address:
    """An address to forward to: a host name, or a local address unless the policy allows
    public ones. Port 0 and a missing host have no meaning here."""
    parsed = parse_address(address, what)
    if not parsed.host:
        raise invalid_address(what, address, "missing host in address")
    if parsed.port == 0:
        raise invalid_address(what, address, "the port must be 1..65535")
    if not parsed.local and not policy.allow_public_upstreams:
        raise not_allowed(
            what, address, "is a public address, outside the replica", "--allow-public-upstreams"
        )
    return parsed
