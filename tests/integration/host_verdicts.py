"""What a test of a real drill may conclude when gameday called the drill inconclusive.

An inconclusive verdict says the host, not the system, may have decided the result
(grading.host_strain: saturated CPUs, a load generator behind its schedule or stalled
itself). A test that claims a drill passes cannot tell on such a host: it checks what holds
on any host (nothing left injected, the reasons naming the host) and then says, as a skip,
that the verdict was not the system's."""

from __future__ import annotations

from collections.abc import Sequence

import pytest


def host_cause(why: str) -> bool:
    """Whether an inconclusive reason blames the host, as grading.host_strain words it."""
    host = why.startswith("the host was") and "not the system's" in why
    behind = why.startswith("the load generator fell behind") and "did not apply its load" in why
    return host or behind


def skip_if_the_host_decided(verdict: str, inconclusive: Sequence[str]) -> None:
    """Skip, with gameday's reasons, a test whose drill came out inconclusive; fail it if
    an inconclusive reason is not the host's."""
    if verdict != "inconclusive":
        return
    assert inconclusive and all(host_cause(why) for why in inconclusive), inconclusive
    pytest.skip("the drill was inconclusive on this host: " + "; ".join(inconclusive))
