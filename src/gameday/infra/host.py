"""How busy the machine running a drill is: the evidence for an inconclusive verdict.

A drill's timings are measurements of the system under test only while the host has CPU
to spare. :class:`HostMonitor` reads the kernel's CPU pressure (PSI, ``/proc/pressure/cpu``:
the share of time at least one runnable task waited for a CPU) and the CPU time not idle
(``/proc/stat``) at the start and end of a drill, so a drill can tell when the host, not
the playbook, decided its result. Both files are Linux's; where one is missing (an older
kernel, another OS) its figure is None and says nothing.

Two readings, no thread: the figures are averages over the drill, which is what decides
whether its timings can be trusted.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["HostMonitor", "HostSample", "HostUsage"]

PRESSURE_FILE = Path("/proc/pressure/cpu")
STAT_FILE = Path("/proc/stat")


@dataclass(frozen=True)
class HostSample:
    at: float  # time.monotonic()
    stalled_us: int | None  # PSI "some" total: microseconds some task waited for a CPU
    busy_ticks: int | None  # CPU time not idle, in clock ticks, all CPUs
    total_ticks: int | None


@dataclass(frozen=True)
class HostUsage:
    """Averages between two samples."""

    seconds: float
    cpus: int
    cpu_pressure: float | None  # 0..1
    cpu_busy: float | None  # 0..1


class HostMonitor:
    """Reads the host's CPU figures; ``start`` then ``stop`` gives their averages."""

    def __init__(self, *, pressure_file: Path = PRESSURE_FILE, stat_file: Path = STAT_FILE) -> None:
        self._pressure_file = pressure_file
        self._stat_file = stat_file
        self._first: HostSample | None = None

    def sample(self) -> HostSample:
        busy, total = self._ticks()
        return HostSample(time.monotonic(), self._stalled_us(), busy, total)

    def start(self) -> None:
        self._first = self.sample()

    def stop(self) -> HostUsage:
        if self._first is None:
            raise RuntimeError("stop() before start()")
        return usage_between(self._first, self.sample())

    def _stalled_us(self) -> int | None:
        try:
            for line in self._pressure_file.read_text(encoding="ascii").splitlines():
                if line.startswith("some "):
                    fields = dict(part.split("=", 1) for part in line.split()[1:])
                    return int(fields["total"])
        except (OSError, ValueError, KeyError):
            return None
        return None

    def _ticks(self) -> tuple[int | None, int | None]:
        try:
            with self._stat_file.open(encoding="ascii") as stat:
                first = stat.readline().split()
        except OSError:
            return None, None
        if not first or first[0] != "cpu":
            return None, None
        try:
            values = [int(v) for v in first[1:]]
        except ValueError:
            return None, None
        # user nice system idle iowait irq softirq steal (guest time is inside user)
        idle = values[3] + (values[4] if len(values) > 4 else 0)
        total = sum(values[:8])
        return total - idle, total


def usage_between(first: HostSample, last: HostSample) -> HostUsage:
    seconds = max(last.at - first.at, 1e-9)
    pressure = None
    if first.stalled_us is not None and last.stalled_us is not None:
        pressure = min(max((last.stalled_us - first.stalled_us) / 1e6 / seconds, 0.0), 1.0)
    busy = None
    if None not in (first.busy_ticks, first.total_ticks, last.busy_ticks, last.total_ticks):
        assert first.busy_ticks is not None and last.busy_ticks is not None
        assert first.total_ticks is not None and last.total_ticks is not None
        total = last.total_ticks - first.total_ticks
        if total > 0:
            busy = min(max((last.busy_ticks - first.busy_ticks) / total, 0.0), 1.0)
    return HostUsage(seconds, os.cpu_count() or 1, pressure, busy)
