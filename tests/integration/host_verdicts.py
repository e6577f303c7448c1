"""What a test of a real drill may conclude when gameday called the drill inconclusive.

An inconclusive verdict says the host, not the system, may have decided the result
(grading.host_strain: saturated CPUs, a load generator behind its schedule or stalled
itself). A test that claims a drill passes cannot tell on such a host: it checks what holds
on any host (nothing left injected, the reasons naming the host) and then says, as a skip,
that the verdict was not the system's."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

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


def what_happened(record: dict[str, Any]) -> str:
    """A drill's journal record, told in a few lines for a failing test's message: its
    events (seconds from the drill's start), how long each recovery step took, and the
    host's figures. A drill that failed on a machine no one can log in to explains itself."""
    start = _at(record["started_at"])
    lines = [
        f"  {_at(e['at']) - start:7.1f} s  {e['kind']} {e['subject']}".rstrip()
        for e in record["events"]
        if e["kind"] not in ("alert_pending", "recovery_step")
    ]
    for step in record["recovery_steps"]:
        took = _at(step["ended_at"]) - _at(step["started_at"])
        lines.append(f"  step {step['action']} {step['target']}: {took:.1f} s, ok={step['ok']}")
    lines.append(f"  host: {record['host']}")
    return "\n".join(["what the drill saw:", *lines])


def _at(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
