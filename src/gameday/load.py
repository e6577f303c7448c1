"""Steady load through the gateway during a drill, and what that load saw.

:class:`LoadGenerator` offers requests open-loop at the scenario's rate (a slow service does
not lower the offered load), mixes reads of acknowledged tasks with new tasks, and yields a
:class:`LoadReport` of every request for grading. :func:`lost_tasks` asks PostgreSQL which
acknowledged tasks it does not hold. It is a drill's user, not a benchmark: it sends only to
the gateway's 127.0.0.1 address and never retries.
"""

from __future__ import annotations

import asyncio
import bisect
import ipaddress
import math
import random
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

import httpx

from gameday import scenario
from gameday.errors import InputError, ReplicaError
from gameday.timeline import EventKind, Timeline, utcnow

if TYPE_CHECKING:
    from gameday.replica import Replica

__all__ = [
    "LoadBucket",
    "LoadGenerator",
    "LoadReport",
    "RequestRecord",
    "WindowStats",
    "lost_tasks",
]

RequestKind = Literal["create", "read"]

# In-flight requests beyond what the rate and the timeout can explain mean the client itself
# is stuck; past this many, new requests are recorded as failed instead of sent.
MAX_IN_FLIGHT = 512
# How long stop() lets in-flight requests finish before it cancels them (and drops them:
# they were cut short by the drill, not failed by the service).
STOP_GRACE_S = 0.5
# A client loop this far behind its schedule (a paused process) restarts the schedule rather
# than sending the backlog as one burst that the service never saw in production.
MAX_LAG_S = 1.0
# Ids per psql query in lost_tasks: keeps the command line well under ARG_MAX.
LOST_TASKS_BATCH = 1000
MAX_TASK_ID = 2**63 - 1


@dataclass(frozen=True)
class RequestRecord:
    """One request of the load: ``at`` is when it was sent, ``latency_ms`` until it ended."""

    at: datetime
    kind: RequestKind
    status: int | None  # None: no HTTP answer (transport error, timeout, not sent)
    latency_ms: float
    error: str  # empty when the answer was what the load expected
    task_id: int | None  # the task created (201) or read

    @property
    def failed(self) -> bool:
        """A failure as a user sees it: no answer in time, or a 5xx."""
        return self.status is None or self.status >= 500

    @property
    def finished_at(self) -> datetime:
        return self.at + timedelta(milliseconds=self.latency_ms)


@dataclass(frozen=True)
class WindowStats:
    """Requests that finished in a recent window of time."""

    total: int
    failed: int

    @property
    def error_rate(self) -> float:
        return self.failed / self.total if self.total else 0.0


@dataclass(frozen=True)
class LoadBucket:
    """One time bucket of a report, for charts. Latencies are of successful requests only."""

    start: datetime
    requests: int
    errors: int
    p50_ms: float | None
    p95_ms: float | None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank percentile (a value of the sample); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@dataclass(frozen=True)
class LoadReport:
    """Every request of a load run, ordered by the time it was sent.

    Buckets (``series``, ``availability``) group requests by the time they were sent,
    aligned to multiples of ``bucket_s`` since the epoch so that charts of one drill line up.
    """

    requests: tuple[RequestRecord, ...]
    acknowledged: tuple[int, ...]  # task ids answered 201, in the order they were answered

    def p95_ms(self) -> float | None:
        """p95 latency of the successful requests; failures count in ``error_rate`` instead,
        so that a refused connection's short latency does not flatter the percentile."""
        return percentile([r.latency_ms for r in self.requests if not r.failed], 0.95)

    def error_rate(self) -> float:
        """Failed requests over all requests; 0.0 when there were none."""
        if not self.requests:
            return 0.0
        return sum(1 for r in self.requests if r.failed) / len(self.requests)

    def availability(self, bucket_s: float = 1.0, max_error_rate: float = 0.01) -> float | None:
        """The share of ``bucket_s`` buckets (that had requests) whose error rate was at most
        ``max_error_rate``: with 20 requests a second, one failure makes a second unavailable.
        Buckets without requests say nothing and are left out; None when no bucket is left."""
        buckets = [b for b in self.series(bucket_s) if b.requests]
        if not buckets:
            return None
        good = sum(1 for b in buckets if b.errors / b.requests <= max_error_rate)
        return good / len(buckets)

    def series(self, bucket_s: float = 1.0) -> tuple[LoadBucket, ...]:
        """Per-bucket counts and latencies from the first request's bucket to the last's,
        empty buckets included so that a chart's time axis has no holes."""
        if bucket_s <= 0:
            raise ValueError("bucket_s must be positive")
        if not self.requests:
            return ()
        grouped: dict[int, list[RequestRecord]] = {}
        for record in self.requests:
            grouped.setdefault(_bucket_index(record.at, bucket_s), []).append(record)
        first, last = min(grouped), max(grouped)
        zone = self.requests[0].at.tzinfo
        buckets = []
        for index in range(first, last + 1):
            records = grouped.get(index, [])
            latencies = [r.latency_ms for r in records if not r.failed]
            buckets.append(
                LoadBucket(
                    start=datetime.fromtimestamp(index * bucket_s, tz=zone),
                    requests=len(records),
                    errors=sum(1 for r in records if r.failed),
                    p50_ms=percentile(latencies, 0.5),
                    p95_ms=percentile(latencies, 0.95),
                )
            )
        return tuple(buckets)

    def between(self, start: datetime, end: datetime) -> LoadReport:
        """The requests sent in ``[start, end)`` and the tasks those requests acknowledged."""
        chosen = tuple(r for r in self.requests if start <= r.at < end)
        return LoadReport(requests=chosen, acknowledged=_acknowledged(chosen))


def _bucket_index(at: datetime, bucket_s: float) -> int:
    return math.floor(at.timestamp() / bucket_s)


def _acknowledged(records: Iterable[RequestRecord]) -> tuple[int, ...]:
    ordered = sorted(records, key=lambda r: r.finished_at)
    return tuple(r.task_id for r in ordered if r.kind == "create" and r.status == 201 and r.task_id)


def _require_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise InputError(f"load goes only to a 127.0.0.1 address, not to {url!r}")


class LoadGenerator:
    """Open-loop load on the gateway from a background thread, until ``stop``."""

    def __init__(
        self, gateway_url: str, spec: scenario.Load, timeline: Timeline, *, seed: int = 0
    ) -> None:
        _require_loopback(gateway_url)
        self._url = gateway_url.rstrip("/")
        self._spec = spec
        self._timeline = timeline
        self._rng = random.Random(seed)
        # Enough for every request of one timeout period to hang at once, and some slack.
        self._max_in_flight = min(MAX_IN_FLIGHT, math.ceil(spec.rate_per_s * spec.timeout_s) + 16)
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []
        self._finished_mono: list[float] = []  # parallel to _records, in finishing order
        self._acknowledged: list[int] = []
        self._armed = False
        self._first_failure_seen = False
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._crash: BaseException | None = None
        self._report: LoadReport | None = None

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("this load generator was already started")
        self._thread = threading.Thread(target=self._thread_main, name="gameday-load", daemon=True)
        self._thread.start()

    def arm(self) -> None:
        """From now on, the first failed request marks FIRST_FAILED_REQUEST on the timeline."""
        with self._lock:
            self._armed = True

    def window(self, seconds: float) -> WindowStats:
        """Requests that finished in the last ``seconds``."""
        cutoff = time.monotonic() - seconds
        with self._lock:
            first = bisect.bisect_left(self._finished_mono, cutoff)
            recent = self._records[first:]
        return WindowStats(total=len(recent), failed=sum(1 for r in recent if r.failed))

    def stop(self) -> LoadReport:
        """Stop sending (within about STOP_GRACE_S) and report every finished request."""
        if self._report is not None:
            return self._report
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=STOP_GRACE_S + 2.0)
            if self._thread.is_alive():
                self._timeline.add(EventKind.NOTE, "load generator did not stop in time")
        if self._crash is not None:
            raise RuntimeError("the load generator failed") from self._crash
        with self._lock:
            records = tuple(sorted(self._records, key=lambda r: r.at))
            acknowledged = tuple(self._acknowledged)
        self._report = LoadReport(requests=records, acknowledged=acknowledged)
        return self._report

    # -- the loop thread ---------------------------------------------------------------

    def _thread_main(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as exc:
            self._crash = exc

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        limits = httpx.Limits(
            max_connections=self._max_in_flight, max_keepalive_connections=self._max_in_flight
        )
        # trust_env=False: no proxy variable may send the load anywhere but the gateway.
        async with httpx.AsyncClient(
            base_url=self._url, timeout=self._spec.timeout_s, limits=limits, trust_env=False
        ) as http:
            in_flight: set[asyncio.Task[None]] = set()
            interval_s = 1.0 / self._spec.rate_per_s
            next_at = loop.time()
            sequence = 0
            while not self._stopping.is_set():
                delay = next_at - loop.time()
                if delay > 0:
                    # Short naps so that stop() is seen quickly even at a low rate.
                    await asyncio.sleep(min(delay, 0.05))
                    continue
                if -delay > MAX_LAG_S:
                    missed = int(-delay / interval_s)
                    self._timeline.add(
                        EventKind.NOTE,
                        f"load generator fell {-delay:.1f} s behind; {missed} requests not sent",
                        subject="load",
                    )
                    next_at = loop.time()
                next_at += interval_s
                sequence += 1
                if len(in_flight) >= self._max_in_flight:
                    self._record_unsent()
                    continue
                task = asyncio.create_task(self._one(http, sequence))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
            if in_flight:
                _, unfinished = await asyncio.wait(in_flight, timeout=STOP_GRACE_S)
                for task in unfinished:
                    task.cancel()
                await asyncio.gather(*unfinished, return_exceptions=True)

    def _choose(self) -> tuple[RequestKind, int | None]:
        with self._lock:
            known = len(self._acknowledged)
            if known and self._rng.random() < self._spec.read_ratio:
                return "read", self._acknowledged[self._rng.randrange(known)]
        return "create", None

    async def _one(self, http: httpx.AsyncClient, sequence: int) -> None:
        kind, task_id = self._choose()
        at, started = utcnow(), time.perf_counter()
        status: int | None = None
        error = ""
        try:
            # httpx's timeout is per network operation; this bounds the whole request.
            async with asyncio.timeout(self._spec.timeout_s):
                if kind == "create":
                    response = await http.post("/tasks", json={"title": f"gameday load {sequence}"})
                else:
                    response = await http.get(f"/tasks/{task_id}")
            status = response.status_code
            task_id, error = _judge(kind, task_id, response)
        except (TimeoutError, httpx.TimeoutException):
            error = f"no answer within {self._spec.timeout_s:g} s"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
        latency_ms = (time.perf_counter() - started) * 1000
        self._record(RequestRecord(at, kind, status, latency_ms, error, task_id))

    def _record_unsent(self) -> None:
        error = f"not sent: {self._max_in_flight} requests already in flight"
        self._record(RequestRecord(utcnow(), "create", None, 0.0, error, None))

    def _record(self, record: RequestRecord) -> None:
        report_failure = False
        with self._lock:
            self._records.append(record)
            self._finished_mono.append(time.monotonic())
            if record.kind == "create" and record.status == 201 and record.task_id:
                self._acknowledged.append(record.task_id)
            if record.failed and self._armed and not self._first_failure_seen:
                self._first_failure_seen = report_failure = True
        if report_failure:
            what = "POST /tasks" if record.kind == "create" else f"GET /tasks/{record.task_id}"
            self._timeline.add(
                EventKind.FIRST_FAILED_REQUEST,
                f"{what}: {record.error or f'HTTP {record.status}'}",
                subject="gateway",
                at=record.finished_at,
            )


def _judge(
    kind: RequestKind, task_id: int | None, response: httpx.Response
) -> tuple[int | None, str]:
    """The task id the answer is about, and what was wrong with it (empty when nothing)."""
    status = response.status_code
    if status >= 500:
        return task_id, f"HTTP {status}"
    if kind == "read":
        if status == 404:
            return task_id, "an acknowledged task was not found"
        return task_id, "" if status == 200 else f"HTTP {status}"
    if status != 201:
        return None, f"HTTP {status}"
    try:
        created = response.json()["id"]
    except (ValueError, KeyError, TypeError):
        return None, "201 without a task id"
    if not isinstance(created, int) or isinstance(created, bool):
        return None, "201 without a task id"
    return created, ""


def lost_tasks(replica: Replica, task_ids: Sequence[int]) -> list[int]:
    """The ids in ``task_ids`` that PostgreSQL does not hold, in their first order.

    Raises ReplicaError when psql cannot answer (the database must be up to be asked).
    """
    wanted = list(dict.fromkeys(int(i) for i in task_ids))
    # Ids outside bigserial's range cannot exist, and PostgreSQL would reject the whole batch.
    possible = [i for i in wanted if 1 <= i <= MAX_TASK_ID]
    present: set[int] = set()
    for offset in range(0, len(possible), LOST_TASKS_BATCH):
        batch = possible[offset : offset + LOST_TASKS_BATCH]
        query = (
            "SELECT id FROM tasks WHERE id = ANY('{"
            + ",".join(str(i) for i in batch)
            + "}'::bigint[])"
        )
        present.update(_psql_ids(replica, query))
    return [i for i in wanted if i not in present]


def _psql_ids(replica: Replica, query: str) -> list[int]:
    text = replica.psql(query)
    try:
        return [int(line) for line in text.split()]
    except ValueError:
        raise ReplicaError(f"psql answered something other than ids: {text[:300]!r}") from None
