"""How busy the machine running a drill is: the evidence for an inconclusive verdict.

A drill's timings are measurements of the system under test only while the host has CPU
to spare. :class:`HostMonitor` reads the kernel's CPU pressure (PSI, ``/proc/pressure/cpu``:
the share of time at least one runnable task waited for a CPU) and the CPU time not idle
(``/proc/stat``) at the start and end of a drill, so a drill can tell when the host, not
the playbook, decided its result. Both files are Linux's; where one is missing (an older
kernel, another OS) its figure is None and says nothing.

Two readings, no thread: the figures are averages over the drill, which is what decides
whether its timings can be trusted.

Two more figures are kept for the record, not for the verdict: the IO pressure
(``/proc/pressure/io``: the share of time some task waited on storage) and the CPU time the
hypervisor gave to other machines (``steal`` in ``/proc/stat``). They explain a slow drill
on a virtual machine whose neighbours take its disk or its CPUs.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["HostMonitor", "HostSample", "HostUsage"]

PRESSURE_FILE = Path("/proc/pressure/cpu")
IO_PRESSURE_FILE = Path("/proc/pressure/io")
STAT_FILE = Path("/proc/stat")


@dataclass(frozen=True)
class HostSample:
    at: float  # time.monotonic()
    stalled_us: int | None  # PSI "some" total: microseconds some task waited for a CPU
    busy_ticks: int | None  # CPU time not idle, in clock ticks, all CPUs
    total_ticks: int | None
    io_stalled_us: int | None = None  # PSI "some" total for IO
    steal_ticks: int | None = None  # CPU time the hypervisor gave to others, in clock ticks


@dataclass(frozen=True)
class HostUsage:
    """Averages between two samples."""

    seconds: float
    cpus: int
    cpu_pressure: float | None  # 0..1
    cpu_busy: float | None  # 0..1
    io_pressure: float | None = None  # 0..1
    cpu_steal: float | None = None  # 0..1


class HostMonitor:
    """Reads the host's CPU figures; ``start`` then ``stop`` gives their averages."""

    def __init__(
        self,
        *,
        pressure_file: Path = PRESSURE_FILE,
        stat_file: Path = STAT_FILE,
        io_pressure_file: Path = IO_PRESSURE_FILE,
    ) -> None:
        self._pressure_file = pressure_file
        self._io_pressure_file = io_pressure_file
        self._stat_file = stat_file
        self._first: HostSample | None = None

    def sample(self) -> HostSample:
        busy, total, steal = self._ticks()
        return HostSample(
            time.monotonic(),
            _stalled_us(self._pressure_file),
            busy,
            total,
            io_stalled_us=_stalled_us(self._io_pressure_file),
            steal_ticks=steal,
        )

    def start(self) -> None:
        self._first = self.sample()

    def stop(self) -> HostUsage:
        if self._first is None:
            raise RuntimeError("stop() before start()")
        return usage_between(self._first, self.sample())

    def _ticks(self) -> tuple[int | None, int | None, int | None]:
        try:
            with self._stat_file.open(encoding="ascii") as stat:
                first = stat.readline().split()
        except OSError:
            return None, None, None
        if not first or first[0] != "cpu":
            return None, None, None
        try:
            values = [int(v) for v in first[1:]]
        except ValueError:
            return None, None, None
        # user nice system idle iowait irq softirq steal (guest time is inside user)
        idle = values[3] + (values[4] if len(values) > 4 else 0)
        total = sum(values[:8])
        steal = values[7] if len(values) > 7 else None
        return total - idle, total, steal


def _stalled_us(pressure_file: Path) -> int | None:
    """A PSI file's "some" total (microseconds), or None where there is none."""
    try:
        for line in pressure_file.read_text(encoding="ascii").splitlines():
            if line.startswith("some "):
                fields = dict(part.split("=", 1) for part in line.split()[1:])
                return int(fields["total"])
    except (OSError, ValueError, KeyError):
        return None
    return None


def _share(first: int | None, last: int | None, of: float) -> float | None:
    if first is None or last is None or of <= 0:
        return None
    return min(max((last - first) / of, 0.0), 1.0)


def usage_between(first: HostSample, last: HostSample) -> HostUsage:
    seconds = max(last.at - first.at, 1e-9)
    ticks = None
    if first.total_ticks is not None and last.total_ticks is not None:
        ticks = last.total_ticks - first.total_ticks
    return HostUsage(
        seconds,
        os.cpu_count() or 1,
        cpu_pressure=_share(first.stalled_us, last.stalled_us, seconds * 1e6),
        cpu_busy=_share(first.busy_ticks, last.busy_ticks, ticks or 0),
        io_pressure=_share(first.io_stalled_us, last.io_stalled_us, seconds * 1e6),
        cpu_steal=_share(first.steal_ticks, last.steal_ticks, ticks or 0),
    )
