"""The users of a drill: open-loop load on a published service, and what that load saw.

:class:`LoadGenerator` offers the project's requests (docs/project.md, ``load``) open-loop
at the scenario's rate: a slow service does not lower the offered load. Requests are chosen
by weight; one whose path or body names ``{id}`` reads back a record that an earlier write
returned, so a lost acknowledged write shows as the user would see it. A
:class:`LoadReport` of every request feeds the grading. :func:`lost_writes` asks the stack,
by the project's data check, which acknowledged writes it no longer holds.

It is a drill's user, not a benchmark: it sends only to a 127.0.0.1 address and never
retries.

It is long because the load, its report and the data check that reads its
acknowledgements belong together.
"""

from __future__ import annotations

import asyncio
import bisect
import math
import random
import re
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from gameday.errors import InputError, ReplicaError
from gameday.inputs.project import DataCheck, LoadRequest, LoadSpec, loopback_url
from gameday.inputs.scenario import Load
from gameday.record import AnswerCount, LoadPoint
from gameday.timeline import EventKind, Timeline, utcnow

if TYPE_CHECKING:
    from gameday.infra.replica import Replica

__all__ = [
    "LoadBucket",
    "LoadGenerator",
    "LoadLag",
    "LoadReport",
    "RequestRecord",
    "WindowStats",
    "load_for",
    "lost_writes",
]

# An id that a write returned, as the answer's JSON had it.
RecordId = int | str

# In-flight requests beyond what the rate and the timeout can explain mean the client itself
# is stuck; past this many, new requests are recorded as failed instead of sent.
MAX_IN_FLIGHT = 512
# How long stop() lets in-flight requests finish before it cancels them (and drops them:
# they were cut short by the drill, not failed by the service).
STOP_GRACE_S = 0.5
# A client loop this far behind its schedule (a paused process) restarts the schedule rather
# than sending the backlog as one burst that the service never saw in production.
MAX_LAG_S = 1.0
# The client's own stalls: a heartbeat in the load's event loop sleeps HEARTBEAT_S, and a
# wake-up more than STALL_MIN_S late is a stretch in which the load generator could read no
# answer (its process waited for a CPU, or for the interpreter's lock). Requests in flight
# across it measured the host as well as the service.
HEARTBEAT_S = 0.02
STALL_MIN_S = 0.01
# What a read of an acknowledged write that the stack no longer has fails with.
WRITE_NOT_FOUND = "an acknowledged write was not found"
# Ids go into a URL path and a command line: only plain ones, which need no quoting there.
_SAFE_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")


@dataclass(frozen=True)
class RequestRecord:
    """One request of the load: ``at`` is when it was sent, ``latency_ms`` until it ended."""

    at: datetime
    kind: str  # the name of the project's request
    status: int | None  # None: no HTTP answer (transport error, timeout, not sent)
    latency_ms: float
    error: str  # empty when the answer was what the load expected
    record_id: RecordId | None = None  # the record written (a write's answer) or read
    write: bool = False  # whether a success acknowledged a write

    @property
    def failed(self) -> bool:
        """A failure as a user sees it: no answer in time, or not the answer expected."""
        return bool(self.error)

    @property
    def acknowledged(self) -> bool:
        return self.write and not self.error and self.record_id is not None

    @property
    def finished_at(self) -> datetime:
        return self.at + timedelta(milliseconds=self.latency_ms)


def load_for(spec: LoadSpec, scenario: Load) -> LoadSpec:
    """The project's load with the scenario's rate, timeout and weights applied."""
    requests = [
        r.model_copy(update={"weight": scenario.weights[r.name]})
        if r.name in scenario.weights
        else r
        for r in spec.requests
    ]
    if not any(r.weight > 0 and not r.needs_id for r in requests):
        raise InputError(
            "load.weights: expected at least one request that needs no {id} to keep a "
            "weight above 0"
        )
    return spec.model_copy(
        update={
            "rate_per_s": scenario.rate_per_s or spec.rate_per_s,
            "timeout_s": scenario.timeout_s or spec.timeout_s,
            "requests": requests,
        }
    )


@dataclass(frozen=True)
class LoadLag:
    """Whether the load kept its rate: a client that falls behind measures the host."""

    scheduled: int  # requests the schedule called for
    not_sent: int  # of them, skipped because the client was too far behind
    max_lag_s: float  # the furthest behind its schedule a request was sent
    # The client's own stalls (see HEARTBEAT_S): when each ended, and how long it lasted.
    stalls: tuple[tuple[datetime, float], ...] = ()
    started_at: datetime | None = None  # when the load's loop began

    @property
    def share_not_sent(self) -> float:
        return self.not_sent / self.scheduled if self.scheduled else 0.0

    def stalled_share(self, start: datetime, end: datetime) -> float:
        """The share of ``[start, end]`` in which the load generator was stalled."""
        seconds = (end - start).total_seconds()
        if seconds <= 0:
            return 0.0
        covered = 0.0
        for ended, length in self.stalls:
            began = ended - timedelta(seconds=length)
            overlap = (min(ended, end) - max(began, start)).total_seconds()
            covered += max(overlap, 0.0)
        return min(covered / seconds, 1.0)


@dataclass(frozen=True)
class WindowStats:
    """Requests that finished in a recent window of time."""

    total: int
    failed: int
    p95_ms: float | None = None  # of the successful ones (as LoadReport.p95_ms)

    @property
    def error_rate(self) -> float:
        return self.failed / self.total if self.total else 0.0


# One time bucket of the load, for charts: the journal's own record of it.
LoadBucket = LoadPoint


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
    acknowledged: tuple[RecordId, ...]  # ids that writes returned, in the order answered

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
        rates = [b.error_rate for b in self.series(bucket_s)]
        measured = [rate for rate in rates if rate is not None]
        if not measured:
            return None
        return sum(1 for rate in measured if rate <= max_error_rate) / len(measured)

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

    def answers(self) -> tuple[AnswerCount, ...]:
        """How each request was answered, how often: by request name (as the report groups
        them), the most frequent answer first."""
        waits: dict[tuple[str, str, bool], list[float]] = {}
        for r in self.requests:
            answer = "no answer" if r.status is None else f"HTTP {r.status}"
            waits.setdefault((r.kind, answer, r.failed), []).append(r.latency_ms)
        ranked = sorted(waits.items(), key=lambda item: (item[0][0], -len(item[1])))
        return tuple(
            AnswerCount(
                request=kind,
                answer=answer,
                count=len(latencies),
                failed=failed,
                p95_ms=round(percentile(latencies, 0.95) or 0.0, 1),
            )
            for (kind, answer, failed), latencies in ranked
        )

    def between(self, start: datetime, end: datetime) -> LoadReport:
        """The requests sent in ``[start, end)`` and the writes those requests acknowledged."""
        chosen = tuple(r for r in self.requests if start <= r.at < end)
        return LoadReport(requests=chosen, acknowledged=_acknowledged(chosen))


def _bucket_index(at: datetime, bucket_s: float) -> int:
    return math.floor(at.timestamp() / bucket_s)


def _acknowledged(records: Iterable[RequestRecord]) -> tuple[RecordId, ...]:
    ordered = sorted(records, key=lambda r: r.finished_at)
    return tuple(r.record_id for r in ordered if r.acknowledged and r.record_id is not None)


def _fill(template: Any, values: dict[str, Any]) -> Any:
    """``template`` (a JSON value) with ``{id}`` and ``{seq}`` filled in its strings; a
    string that is only a placeholder becomes the value itself (a number stays a number)."""
    if isinstance(template, str):
        for name, value in values.items():
            if template == "{" + name + "}":
                return value
        for name, value in values.items():
            template = template.replace("{" + name + "}", str(value))
        return template
    if isinstance(template, list):
        return [_fill(item, values) for item in template]
    if isinstance(template, dict):
        return {key: _fill(item, values) for key, item in template.items()}
    return template


class LoadGenerator:
    """Open-loop load on one published service from a background thread, until ``stop``."""

    def __init__(
        self,
        url: str,
        spec: LoadSpec,
        timeline: Timeline,
        *,
        seed: int = 0,
        stop_grace_s: float = STOP_GRACE_S,
    ) -> None:
        """``stop_grace_s``: how long ``stop`` lets in-flight requests finish; a measurement
        that must count its slowest requests gives them the whole timeout."""
        if not loopback_url(url):
            raise InputError(f"load goes only to a 127.0.0.1 address, not to {url!r}")
        self._url = url.rstrip("/")
        self._spec = spec
        self._timeline = timeline
        self._stop_grace_s = stop_grace_s
        self._rng = random.Random(seed)
        self._requests = [r for r in spec.requests if r.weight > 0]
        self._fresh = [r for r in self._requests if not r.needs_id]
        if not self._fresh:
            raise InputError("the load has no request that needs no {id}: nothing can start")
        # Enough for every request of one timeout period to hang at once, and some slack.
        self._max_in_flight = min(MAX_IN_FLIGHT, math.ceil(spec.rate_per_s * spec.timeout_s) + 16)
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []
        self._finished_mono: list[float] = []  # parallel to _records, in finishing order
        self._acknowledged: list[RecordId] = []
        # The acknowledged ids reads choose from: a write found gone once is lost (the
        # data check counts it) and is not read again, as a user stops opening a task that
        # is not there; else the error rate of a drill that loses data never settles.
        self._readable: list[RecordId] = []
        self._armed = False
        self._first_failure_seen = False
        self._scheduled = 0
        self._not_sent = 0
        self._max_lag_s = 0.0
        self._stalls: list[tuple[datetime, float]] = []
        self._started_at: datetime | None = None
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
        return WindowStats(
            total=len(recent),
            failed=sum(1 for r in recent if r.failed),
            p95_ms=percentile([r.latency_ms for r in recent if not r.failed], 0.95),
        )

    def lag(self) -> LoadLag:
        """How well the client has kept its schedule so far."""
        with self._lock:
            return LoadLag(
                self._scheduled,
                self._not_sent,
                self._max_lag_s,
                tuple(self._stalls),
                self._started_at,
            )

    def snapshot(self) -> LoadReport:
        """Every request finished so far; the load goes on."""
        with self._lock:
            records = tuple(sorted(self._records, key=lambda r: r.at))
            acknowledged = tuple(self._acknowledged)
        return LoadReport(requests=records, acknowledged=acknowledged)

    def stop(self) -> LoadReport:
        """Stop sending, let in-flight requests finish (within ``stop_grace_s``) and report
        every finished request."""
        if self._report is not None:
            return self._report
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=self._stop_grace_s + 2.0)
            if self._thread.is_alive():
                self._timeline.add(EventKind.NOTE, "load generator did not stop in time")
        if self._crash is not None:
            raise RuntimeError("the load generator failed") from self._crash
        self._report = self.snapshot()
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
        # trust_env=False: no proxy variable may send the load anywhere but the target.
        async with httpx.AsyncClient(
            base_url=self._url, timeout=self._spec.timeout_s, limits=limits, trust_env=False
        ) as http:
            in_flight: set[asyncio.Task[None]] = set()
            self._started_at = utcnow()
            heartbeat = asyncio.create_task(self._heartbeat())
            interval_s = 1.0 / self._spec.rate_per_s
            next_at = loop.time()
            sequence = 0
            while not self._stopping.is_set():
                delay = next_at - loop.time()
                if delay > 0:
                    # Short naps so that stop() is seen quickly even at a low rate.
                    await asyncio.sleep(min(delay, 0.05))
                    continue
                with self._lock:
                    self._scheduled += 1
                    self._max_lag_s = max(self._max_lag_s, -delay)
                if -delay > MAX_LAG_S:
                    missed = int(-delay / interval_s)
                    with self._lock:
                        self._scheduled += missed
                        self._not_sent += missed
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
                _, unfinished = await asyncio.wait(in_flight, timeout=self._stop_grace_s)
                for task in unfinished:
                    task.cancel()
                await asyncio.gather(*unfinished, return_exceptions=True)
            heartbeat.cancel()
            await asyncio.gather(heartbeat, return_exceptions=True)

    async def _heartbeat(self) -> None:
        """Note each stretch in which this loop could not run (see HEARTBEAT_S)."""
        while True:
            before = time.monotonic()
            await asyncio.sleep(HEARTBEAT_S)
            late = time.monotonic() - before - HEARTBEAT_S
            if late > STALL_MIN_S:
                with self._lock:
                    self._stalls.append((utcnow(), late))

    def _choose(self) -> tuple[LoadRequest, RecordId | None]:
        with self._lock:
            known = len(self._readable)
            request = self._rng.choices(self._requests, [r.weight for r in self._requests])[0]
            if request.needs_id:
                if known:
                    return request, self._readable[self._rng.randrange(known)]
                request = self._rng.choices(self._fresh, [r.weight for r in self._fresh])[0]
        return request, None

    async def _one(self, http: httpx.AsyncClient, sequence: int) -> None:
        request, record_id = self._choose()
        values: dict[str, Any] = {"seq": sequence}
        if record_id is not None:
            values["id"] = record_id
        path = request.path.replace("{seq}", str(sequence))
        if record_id is not None:
            path = path.replace("{id}", quote(str(record_id), safe=""))
        body = _fill(request.body, values) if request.body is not None else None
        at, started = utcnow(), time.perf_counter()
        status: int | None = None
        error = ""
        try:
            # httpx's timeout is per network operation; this bounds the whole request.
            async with asyncio.timeout(self._spec.timeout_s):
                response = await http.request(request.method, path, json=body)
            status = response.status_code
            record_id, error = _judge(request, record_id, response)
        except (TimeoutError, httpx.TimeoutException):
            error = f"no answer within {self._spec.timeout_s:g} s"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
        latency_ms = (time.perf_counter() - started) * 1000
        write = request.returns_id is not None
        self._record(
            RequestRecord(at, request.name, status, latency_ms, error, record_id, write),
            f"{request.method} {path}",
        )

    def _record_unsent(self) -> None:
        error = f"not sent: {self._max_in_flight} requests already in flight"
        self._record(RequestRecord(utcnow(), self._fresh[0].name, None, 0.0, error), "")

    def _record(self, record: RequestRecord, what: str) -> None:
        report_failure = False
        with self._lock:
            self._records.append(record)
            self._finished_mono.append(time.monotonic())
            if record.acknowledged and record.record_id is not None:
                self._acknowledged.append(record.record_id)
                self._readable.append(record.record_id)
            elif record.error == WRITE_NOT_FOUND and record.record_id in self._readable:
                self._readable.remove(record.record_id)
            if record.failed and self._armed and not self._first_failure_seen:
                self._first_failure_seen = report_failure = True
        if report_failure:
            self._timeline.add(
                EventKind.FIRST_FAILED_REQUEST,
                f"{what or record.kind}: {record.error}",
                subject="load",
                at=record.finished_at,
            )


def _judge(
    request: LoadRequest, record_id: RecordId | None, response: httpx.Response
) -> tuple[RecordId | None, str]:
    """The record the answer is about, and what was wrong with it (empty when nothing)."""
    status = response.status_code
    if status not in request.success:
        if record_id is not None and status == 404:
            return record_id, WRITE_NOT_FOUND
        return record_id, f"HTTP {status}"
    if request.returns_id is None:
        return record_id, ""
    try:
        created = response.json()[request.returns_id]
    except (ValueError, KeyError, TypeError):
        return None, f"{status} without the id field {request.returns_id!r}"
    if isinstance(created, bool) or not isinstance(created, int | str):
        return None, f"{status} with an id that is not a number or a string"
    if not _SAFE_ID.fullmatch(str(created)):
        return None, f"{status} with an id gameday cannot check ({str(created)[:40]!r})"
    return created, ""


# -- the data check ------------------------------------------------------------------------------


def lost_writes(
    replica: Replica, check: DataCheck, load: LoadSpec | None, ids: Sequence[RecordId]
) -> list[RecordId]:
    """The acknowledged ``ids`` that the stack no longer holds, in their first order.

    Raises ReplicaError when the stack cannot answer (it must be up to be asked).
    """
    wanted = list(dict.fromkeys(ids))
    if check.query is not None:
        query = check.query
        present: set[str] = set()
        for offset in range(0, len(wanted), query.batch):
            batch = ",".join(str(i) for i in wanted[offset : offset + query.batch])
            argv = [part.replace("{ids}", batch) for part in query.command]
            output = replica.exec(query.service, argv, retry_while=query.retry_while)
            present.update(output.split())
        return [i for i in wanted if str(i) not in present]
    if check.read_back is not None and load is not None:
        request = next(r for r in load.requests if r.name == check.read_back)
        return _read_back(replica, load, request, wanted)
    return []


def _read_back(
    replica: Replica, load: LoadSpec, request: LoadRequest, ids: list[RecordId]
) -> list[RecordId]:
    url = replica.endpoint(load.target).url
    lost = []
    with httpx.Client(base_url=url, timeout=load.timeout_s, trust_env=False) as http:
        for record_id in ids:
            path = request.path.replace("{id}", quote(str(record_id), safe=""))
            try:
                response = http.request(request.method, path)
            except httpx.HTTPError as exc:
                raise ReplicaError(f"read back {path}: {type(exc).__name__}: {exc}") from exc
            if response.status_code >= 500:
                raise ReplicaError(f"read back {path}: HTTP {response.status_code}")
            if response.status_code not in request.success:
                lost.append(record_id)
    return lost
