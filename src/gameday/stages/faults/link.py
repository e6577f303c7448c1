"""Link faults on the network-fault proxy, through :class:`~gameday.infra.proxy_client.ProxyClient`:
a toxic on proxy links (latency, bandwidth, ...) or links taken down.

Each toxic gameday adds is named after its type and stream, so that any later process can
remove it knowing only the scenario's spec. The proxy keeps toxics in memory only: when its
container is not running there is nothing left to revert.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from gameday.errors import FaultError, ProxyError
from gameday.infra.operations import proxy_client, state_of
from gameday.infra.proxy_client import ProxyClient, ProxyNotFound
from gameday.infra.replica import Replica
from gameday.inputs.scenario import LinkDownFault, LinkToxicFault

__all__ = ["LinkDown", "LinkToxic", "toxic_name", "with_proxy"]

# How each toxic attribute reads in a description (slicer's delay is in microseconds), and
# the attribute that says what a toxic does, shown without its name ("latency 300ms").
_UNITS = {
    "latency": "ms",
    "jitter": "ms",
    "rate": "KB/s",
    "delay": "ms",
    "timeout": "ms",
    "bytes": " bytes",
    "average_size": " bytes",
    "size_variation": " bytes",
}
_MAIN_ATTRIBUTE = {
    "latency": "latency",
    "bandwidth": "rate",
    "slow_close": "delay",
    "timeout": "timeout",
    "reset_peer": "timeout",
    "limit_data": "bytes",
}


def toxic_name(spec: LinkToxicFault) -> str:
    return f"gameday-{spec.toxic}-{spec.stream}"


def with_proxy(replica: Replica, what: str, action: Callable[[ProxyClient], None]) -> bool:
    """Run ``action`` against the replica's proxy; False when the proxy is not running (its
    faults died with it)."""
    spec = replica.project.spec.proxy
    if spec is None:
        raise FaultError(f"{what}: the project has no proxy (proxy: in gameday.yml)")
    if state_of(replica.container(spec.service)) not in ("running", "paused"):
        return False
    try:
        action(proxy_client(replica))
    except ProxyError as exc:
        raise FaultError(f"{what}: {exc}") from exc
    return True


@dataclass(frozen=True)
class LinkToxic:
    """One toxic on each of the spec's proxy links."""

    spec: LinkToxicFault
    spec_type: ClassVar[type[LinkToxicFault]] = LinkToxicFault

    def describe(self) -> str:
        toxic = self.spec.toxic
        settings = []
        for name, value in self.spec.attributes.items():
            unit = "us" if (toxic, name) == ("slicer", "delay") else _UNITS.get(name, "")
            main = name == _MAIN_ATTRIBUTE.get(toxic)
            settings.append(f"{value}{unit}" if main else f"{name} {value}{unit}")
        text = " ".join([toxic, *settings])
        if self.spec.toxicity < 1:
            text += f" at {self.spec.toxicity:.0%} toxicity"
        return f"{text} on {', '.join(self.spec.links)} ({self.spec.stream})"

    def inject(self, replica: Replica) -> None:
        def add(proxy: ProxyClient) -> None:
            for link in self.spec.links:
                proxy.add_toxic(
                    link,
                    self.spec.toxic,
                    self.spec.stream,
                    self.spec.toxicity,
                    self.spec.attributes,
                    name=toxic_name(self.spec),
                )

        if not with_proxy(replica, self.describe(), add):
            raise FaultError(f"{self.describe()}: the proxy is not running")

    def revert(self, replica: Replica) -> None:
        def remove(proxy: ProxyClient) -> None:
            for link in self.spec.links:
                # ProxyNotFound: never added, or already removed.
                with contextlib.suppress(ProxyNotFound):
                    proxy.remove_toxic(link, toxic_name(self.spec))

        with_proxy(replica, f"remove {self.describe()}", remove)


@dataclass(frozen=True)
class LinkDown:
    """Proxy links disabled: new connections refused, open ones closed."""

    spec: LinkDownFault
    spec_type: ClassVar[type[LinkDownFault]] = LinkDownFault

    def describe(self) -> str:
        return f"take down {', '.join(self.spec.links)}"

    def inject(self, replica: Replica) -> None:
        def disable(proxy: ProxyClient) -> None:
            for link in self.spec.links:
                proxy.set_enabled(link, False)

        if not with_proxy(replica, self.describe(), disable):
            raise FaultError(f"{self.describe()}: the proxy is not running")

    def revert(self, replica: Replica) -> None:
        def enable(proxy: ProxyClient) -> None:
            for link in self.spec.links:
                # ProxyNotFound: no such link, so nothing of ours to bring back.
                with contextlib.suppress(ProxyNotFound):
                    proxy.set_enabled(link, True)

        with_proxy(replica, f"bring back {', '.join(self.spec.links)}", enable)
