"""Proxies as the API and the config file describe them, and the checking of those
descriptions: JSON shape, names, and addresses against the server's policy.

Everything about a spec is checked here, before anything is started or stopped, so a
request that is refused changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from .addresses import Policy, check_listen, check_upstream
from .errors import bad_request, missing_field
from .names import check_name

__all__ = ["DEFAULT_LISTEN", "ProxySpec", "parse_proxy_specs"]

# An empty listen means this, not every interface (Go's ":0"): see docs/proxy.md.
DEFAULT_LISTEN = "127.0.0.1:0"


@dataclass(frozen=True)
class ProxySpec:
    """A checked proxy description; ``listen`` is never empty."""

    name: str
    listen: str
    upstream: str
    enabled: bool = True


def parse_proxy_specs(body: object, *, single: bool, policy: Policy) -> list[ProxySpec]:
    """Proxies from a create body (one object) or a populate body (a list)."""
    items: list[object]
    if single:
        if not isinstance(body, dict):
            raise bad_request("expected a JSON object")
        items = [body]
    else:
        if not isinstance(body, list):
            raise bad_request("expected a JSON array of proxies")
        items = body
    return [
        _parse_one(item, "" if single else f" at proxy {index}", policy)
        for index, item in enumerate(items, start=1)
    ]


def _parse_one(item: object, where: str, policy: Policy) -> ProxySpec:
    if not isinstance(item, dict):
        raise bad_request(f"expected a JSON object{where}")
    fields = {}
    for key in ("name", "listen", "upstream"):
        value = item.get(key, "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise bad_request(f"field {key!r}{where} must be a string")
        fields[key] = value
    enabled = item.get("enabled", True)
    if enabled is None:
        enabled = True
    if not isinstance(enabled, bool):
        raise bad_request(f"field 'enabled'{where} must be a boolean")
    if not fields["name"]:
        raise missing_field(f"name{where}")
    if not fields["upstream"]:
        raise missing_field(f"upstream{where}")
    name = check_name("proxy", fields["name"])
    listen = fields["listen"] or DEFAULT_LISTEN
    check_listen(listen, policy, f"listen address{where}")
    check_upstream(fields["upstream"], policy, f"upstream{where}")
    return ProxySpec(name, listen, fields["upstream"], enabled)
