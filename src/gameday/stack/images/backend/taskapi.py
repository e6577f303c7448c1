"""taskapi: the replica's backend, a small task API over PostgreSQL and Redis.

It stands in for the data-labelling platform's backend in gameday's replica. Tasks are committed
to PostgreSQL before the client hears of them, read cache-aside through Redis, and the health of
both dependencies shows on /health and /metrics, so that a drill can watch a fault being detected
and recovered from. It is not the platform's own code and holds no business logic.

    POST /tasks          {"title": str, "payload": any JSON}  -> 201 the task
    GET  /tasks?limit=N  the latest N task ids
    GET  /tasks/{id}     one task: Redis first, PostgreSQL on a miss
    POST /tasks/{id}/pay {"amount_cents": int} -> 200 paid | 202 queued (provider away)
    GET  /health         200 ok | 200 degraded (cache down) | 503 (database down)
    GET  /metrics        Prometheus text format

Payments go to an external provider (in the replica, payment-provider-standin behind the
proxy). A payment is committed to PostgreSQL as pending before the provider is asked, so an
answered payment is never lost: when the provider is down, slow or failing, the client hears
202 "queued". The queue (the playbook's "transaction queue") is settled in the background:
at once when the provider takes a payment again, and by a retry every PAYMENT_RETRY_S
otherwise (a queue no payment follows, or one a restore from backup brought back), which asks
the provider only while the queue is not empty. Nothing waits on it. Watching the provider
and the queue is the monitoring's job (a blackbox probe and a PostgreSQL exporter query in
the replica), not the backend's.

It runs as ``python3 /app/taskapi.py`` on Debian bookworm's python3 with only python3-psycopg2,
python3-redis and python3-prometheus-client, all configured by environment variables (see
``Config.from_env``). Those three libraries are imported only by the adapters that use them, so
the pure parts (validation, routing, cache-aside, health report, request dispatch) import and
are unit-tested on a host that lacks them.
"""

from __future__ import annotations

import http.client
import importlib
import json
import math
import os
import re
import select
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qs, urlsplit

MAX_BODY_BYTES = 1 << 20
MAX_TITLE_CHARS = 200
DEFAULT_LIST_LIMIT = 20
MAX_LIST_LIMIT = 1000
# bigserial ids are signed 64-bit: a larger id cannot exist, and sending it to PostgreSQL would
# raise an error that would look like an outage.
MAX_TASK_ID = 2**63 - 1
PROBE_INTERVAL_S = 1.0
STOP_GRACE_S = 5.0
# Each keep-alive connection holds a thread: free those that a vanished client left open.
IDLE_CONNECTION_TIMEOUT_S = 60.0

# Fine steps from 0.1 s to 0.3 s put the 200 ms p95 objective on a bucket boundary.
HTTP_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0)
DB_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0)

SCHEMA_SQL = (
    "CREATE TABLE IF NOT EXISTS tasks (id bigserial primary key, title text not null,"
    " payload jsonb, created_at timestamptz not null default now());"
    " CREATE TABLE IF NOT EXISTS payments (task_id bigint primary key references tasks (id),"
    " amount_cents bigint not null, status text not null default 'pending',"
    " provider_ref text, created_at timestamptz not null default now(), paid_at timestamptz);"
    # The queue: what the settling thread and the monitoring's queue query read.
    " CREATE INDEX IF NOT EXISTS payments_pending ON payments (task_id) WHERE status = 'pending'"
)
MAX_AMOUNT_CENTS = 10**9
PAYMENT_RETRY_BATCH = 50
# How often a backend retries its queue on its own: one indexed query when it is empty.
PAYMENT_RETRY_S = 5.0

TASK_ROUTE = "/tasks/{id}"
PAY_ROUTE = "/tasks/{id}/pay"
# The route label of every path that matches no route, so that scanners cannot grow the
# number of metric series.
UNMATCHED_ROUTE = "unmatched"


class TaskApiError(Exception):
    """Base of the errors that taskapi turns into an HTTP answer."""


class RequestRejected(TaskApiError):
    """The client sent something taskapi will not take; ``status`` is the 4xx to answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class DatabaseUnavailable(TaskApiError):
    """PostgreSQL did not answer in time, refused, or failed the statement."""


class CacheUnavailable(TaskApiError):
    """Redis did not answer in time or refused."""


class PaymentProviderUnavailable(TaskApiError):
    """The payment provider did not answer in time, refused, or answered with an error."""


N = TypeVar("N", int, float)


def _positive_number(env: Mapping[str, str], name: str, default: N, parse: Callable[[str], N]) -> N:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = parse(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name}={raw!r} must be a positive number")
    return value


@dataclass(frozen=True)
class Config:
    """Everything taskapi reads from its environment."""

    port: int = 8000
    backend_name: str = "backend"
    version: str = "1"
    db_host: str = "postgres"
    db_port: int = 5432
    # A standby to fail over to (0: none): tried after the primary, used once it takes
    # writes (promoted). Its host is db_host's unless DB_STANDBY_HOST says otherwise.
    db_standby_host: str = ""
    db_standby_port: int = 0
    db_name: str = "labelmint"
    db_user: str = "postgres"
    db_password: str = ""
    redis_host: str = "redis"
    redis_port: int = 6379
    cache_ttl_s: int = 300
    db_timeout_s: float = 2.0
    cache_timeout_s: float = 0.5
    db_pool_size: int = 10
    # Empty: this backend takes no payments (POST /tasks/{id}/pay answers 503).
    payment_url: str = ""
    payment_timeout_s: float = 0.5

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Config:
        """Read TASKAPI_PORT, BACKEND_NAME, APP_VERSION, DB_* (DB_STANDBY_* too), REDIS_*,
        CACHE_TTL_S, PAYMENT_URL
        and *_TIMEOUT_S.

        Unset or empty variables take the defaults. Raises ``ValueError`` naming the variable
        when a number is malformed or not positive.
        """
        d = cls()
        return cls(
            port=_positive_number(env, "TASKAPI_PORT", d.port, int),
            backend_name=env.get("BACKEND_NAME") or d.backend_name,
            version=env.get("APP_VERSION") or d.version,
            db_host=env.get("DB_HOST") or d.db_host,
            db_port=_positive_number(env, "DB_PORT", d.db_port, int),
            db_standby_host=env.get("DB_STANDBY_HOST") or d.db_standby_host,
            db_standby_port=_positive_number(env, "DB_STANDBY_PORT", d.db_standby_port, int),
            db_name=env.get("DB_NAME") or d.db_name,
            db_user=env.get("DB_USER") or d.db_user,
            db_password=env.get("DB_PASSWORD", d.db_password),
            redis_host=env.get("REDIS_HOST") or d.redis_host,
            redis_port=_positive_number(env, "REDIS_PORT", d.redis_port, int),
            cache_ttl_s=_positive_number(env, "CACHE_TTL_S", d.cache_ttl_s, int),
            db_timeout_s=_positive_number(env, "DB_TIMEOUT_S", d.db_timeout_s, float),
            cache_timeout_s=_positive_number(env, "CACHE_TIMEOUT_S", d.cache_timeout_s, float),
            db_pool_size=_positive_number(env, "DB_POOL_SIZE", d.db_pool_size, int),
            payment_url=(env.get("PAYMENT_URL") or d.payment_url).rstrip("/"),
            payment_timeout_s=_positive_number(
                env, "PAYMENT_TIMEOUT_S", d.payment_timeout_s, float
            ),
        )


# --- records and validation -------------------------------------------------------------------


@dataclass(frozen=True)
class NewTask:
    """A validated ``POST /tasks`` body."""

    title: str
    payload: Any


@dataclass(frozen=True)
class Task:
    """A stored task, as PostgreSQL returned it and as the cache keeps it."""

    id: int
    title: str
    payload: Any
    created_at: str  # ISO 8601 with offset

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "payload": self.payload,
            "created_at": self.created_at,
        }

    @classmethod
    def from_json(cls, raw: bytes) -> Task:
        """Read a cached task; raises ``ValueError`` for anything that is not one."""
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("cached task is not an object")
        task_id, title, created_at = data.get("id"), data.get("title"), data.get("created_at")
        if type(task_id) is not int or not isinstance(title, str):
            raise ValueError("cached task lacks id or title")
        if not isinstance(created_at, str):
            raise ValueError("cached task lacks created_at")
        return cls(id=task_id, title=title, payload=data.get("payload"), created_at=created_at)


def _reject_constant(name: str) -> Any:
    # json accepts NaN and Infinity, which are not JSON and which jsonb refuses.
    raise ValueError(f"{name} is not valid JSON")


def _contains_nul(value: Any) -> bool:
    # Walked with a stack, not recursion: json.loads accepts nesting deeper than the
    # recursion limit leaves room for.
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def parse_new_task(body: bytes) -> NewTask:
    """Validate a ``POST /tasks`` body; raises ``RequestRejected`` saying what is wrong."""
    try:
        data = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise RequestRejected(f"body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise RequestRejected("body must be a JSON object")
    unknown = sorted(set(data) - {"title", "payload"})
    if unknown:
        raise RequestRejected(f"unknown field(s): {', '.join(unknown)}")
    title = data.get("title")
    if not isinstance(title, str):
        raise RequestRejected("title must be a string")
    if not 1 <= len(title) <= MAX_TITLE_CHARS:
        raise RequestRejected(f"title must be 1 to {MAX_TITLE_CHARS} characters")
    payload = data.get("payload")
    # PostgreSQL's text and jsonb cannot hold U+0000; let it through and it fails as a 503.
    if _contains_nul(title) or _contains_nul(payload):
        raise RequestRejected("title and payload may not contain U+0000")
    return NewTask(title=title, payload=payload)


@dataclass(frozen=True)
class Payment:
    """A task's payment as PostgreSQL holds it: ``pending`` until the provider charged it."""

    task_id: int
    amount_cents: int
    status: str  # "pending" | "paid"

    def to_json(self) -> dict[str, Any]:
        return {"task_id": self.task_id, "amount_cents": self.amount_cents, "status": self.status}


def parse_payment(body: bytes) -> int:
    """The amount in cents of a ``POST /tasks/{id}/pay`` body; raises ``RequestRejected``."""
    try:
        data = json.loads(body or b"null", parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise RequestRejected(f"body is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or set(data) != {"amount_cents"}:
        raise RequestRejected('body must be {"amount_cents": N}')
    amount = data["amount_cents"]
    if type(amount) is not int or not 1 <= amount <= MAX_AMOUNT_CENTS:
        raise RequestRejected(f"amount_cents must be an integer from 1 to {MAX_AMOUNT_CENTS}")
    return amount


# --- routing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteMatch:
    """A request target resolved to its route template, the only form used as a metric label."""

    route: str
    task_id: int | None
    query: Mapping[str, list[str]]


_TASK_PATH = re.compile(r"/tasks/(\d{1,19})(/pay)?")


def match_route(target: str) -> RouteMatch:
    """Resolve a raw request target (path and query) to a route; never raises."""
    parts = urlsplit(target)
    query = parse_qs(parts.query)
    if parts.path in ("/health", "/metrics", "/tasks"):
        return RouteMatch(parts.path, None, query)
    found = _TASK_PATH.fullmatch(parts.path)
    if found and int(found[1]) <= MAX_TASK_ID:
        return RouteMatch(PAY_ROUTE if found[2] else TASK_ROUTE, int(found[1]), query)
    return RouteMatch(UNMATCHED_ROUTE, None, query)


def parse_limit(query: Mapping[str, list[str]]) -> int:
    """The ``limit`` of ``GET /tasks``; raises ``RequestRejected`` when it is not 1..1000."""
    values = query.get("limit")
    if not values:
        return DEFAULT_LIST_LIMIT
    raw = values[-1]
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIST_LIMIT:
        raise RequestRejected(f"limit must be an integer from 1 to {MAX_LIST_LIMIT}")
    return int(raw)


# --- cache-aside ------------------------------------------------------------------------------


class TaskStore(Protocol):
    """The system of record. Every method raises ``DatabaseUnavailable`` when it cannot answer."""

    def create(self, new: NewTask) -> Task: ...
    def get(self, task_id: int) -> Task | None: ...
    def latest_ids(self, limit: int) -> list[int]: ...
    def ping(self) -> None: ...


class TaskCache(Protocol):
    """A key-value cache. Every method raises ``CacheUnavailable`` when it cannot answer."""

    def get(self, key: str) -> bytes | None: ...
    def set(self, key: str, value: bytes, ttl_s: int) -> None: ...
    def ping(self) -> None: ...


class CacheStats(Protocol):
    """Where cache-aside reads are counted."""

    def cache_hit(self) -> None: ...
    def cache_miss(self) -> None: ...
    def cache_error(self) -> None: ...


def cache_key(task_id: int) -> str:
    return f"task:{task_id}"


class CachedTaskReader:
    """Reads tasks cache-aside: the cache first, the store on a miss, then fills the cache.

    The cache is only an optimisation: a cache failure is counted and the read goes on to the
    store, so that Redis going down costs latency, never a failed request.
    """

    def __init__(self, store: TaskStore, cache: TaskCache, stats: CacheStats, ttl_s: int) -> None:
        self._store = store
        self._cache = cache
        self._stats = stats
        self._ttl_s = ttl_s

    def get(self, task_id: int) -> Task | None:
        """The task or None; raises ``DatabaseUnavailable`` on a miss the store cannot answer."""
        key = cache_key(task_id)
        cache_answered = True
        try:
            cached = self._cache.get(key)
        except CacheUnavailable:
            self._stats.cache_error()
            cache_answered = False
            cached = None
        if cached is None:
            if cache_answered:
                self._stats.cache_miss()
        else:
            try:
                hit = Task.from_json(cached)
            except ValueError:
                # Unreadable (another version wrote it, or it is corrupt): read the store and
                # overwrite it below.
                self._stats.cache_error()
            else:
                self._stats.cache_hit()
                return hit
        task = self._store.get(task_id)
        # Not after a failed get: a Redis that is down would cost a second timeout per read.
        if task is not None and cache_answered:
            try:
                self._cache.set(key, json.dumps(task.to_json()).encode(), self._ttl_s)
            except CacheUnavailable:
                self._stats.cache_error()
        return task


# --- payments ---------------------------------------------------------------------------------


class PaymentStore(Protocol):
    """Where payments are kept. Every method raises ``DatabaseUnavailable`` when it cannot."""

    def record_payment(self, task_id: int, amount_cents: int) -> Payment | None: ...
    def mark_paid(self, task_id: int, provider_ref: str) -> None: ...
    def queued_payments(self, limit: int) -> list[Payment]: ...


class PaymentProvider(Protocol):
    """The external provider: ``charge`` raises ``PaymentProviderUnavailable``."""

    def charge(self, idempotency_key: str, amount_cents: int) -> str: ...


class PaymentStats(Protocol):
    """Where payments are counted: result is paid, queued or settled (paid from the queue)."""

    def payment(self, result: str) -> None: ...


def start_thread(work: Callable[[], None]) -> None:
    threading.Thread(target=work, name="payments-settle", daemon=True).start()


def idempotency_key(task_id: int) -> str:
    # One key per task: a charge retried from the queue, or by both backends at once, is the
    # same charge to the provider.
    return f"task-{task_id}"


class Cashier:
    """Takes payments: stored first, then charged; what the provider cannot take now is queued.

    Queued, not refused: the playbook's payment procedure monitors a transaction queue, and a
    payment the user has been told about must not depend on the provider being up at that
    moment. A payment the database cannot store is refused (``DatabaseUnavailable``, a 503),
    since nothing then remembers it.

    The queue is settled in the background by ``spawn``, one run at a time: at once when the
    provider takes a payment and this backend may have a queue (it queued one since the last
    drain, a payment failed half-way, or it has just started and cannot know), and whenever
    ``retry`` is called (``retry_queue_every``'s worker, which covers what no flag can know:
    a queue no payment follows, or pending payments a restore from backup brought back).
    """

    def __init__(
        self,
        store: PaymentStore,
        provider: PaymentProvider,
        stats: PaymentStats,
        spawn: Callable[[Callable[[], None]], None] = start_thread,
    ) -> None:
        self._store = store
        self._provider = provider
        self._stats = stats
        self._spawn = spawn
        self._maybe_queued = True  # a queue may be left from before this process started
        self._settling = threading.Lock()

    def pay(self, task_id: int, amount_cents: int) -> Payment | None:
        """The task's payment, paid or pending; None when there is no such task."""
        payment = self._store.record_payment(task_id, amount_cents)
        if payment is None or payment.status == "paid":
            return payment
        try:
            charged = self._charge(payment)
        except BaseException:
            # Stored as pending, then something else failed (the database before it was
            # marked paid, say): it is in the queue whatever the client heard.
            self._maybe_queued = True
            raise
        if charged:
            self._stats.payment("paid")
            if self._maybe_queued:
                self.retry()
            return Payment(payment.task_id, payment.amount_cents, "paid")
        self._maybe_queued = True
        self._stats.payment("queued")
        return payment

    def retry(self) -> None:
        """Start settling the queue in the background, unless a run is already going."""
        if self._settling.acquire(blocking=False):
            self._spawn(self._settle_in_background)

    def settle_queue(self) -> int:
        """Charge the queued payments, oldest first, until none is left or the provider fails;
        how many were paid."""
        settled = 0
        while True:
            # Cleared before the queue is read: a payment queued meanwhile sets it again.
            self._maybe_queued = False
            try:
                batch = self._store.queued_payments(PAYMENT_RETRY_BATCH)
            except DatabaseUnavailable:
                self._maybe_queued = True
                raise
            if not batch:
                return settled
            self._maybe_queued = True
            for payment in batch:
                if not self._charge(payment):
                    return settled  # the provider is away again: the next payment or retry
                self._stats.payment("settled")
                settled += 1

    def _settle_in_background(self) -> None:
        try:
            with suppress(DatabaseUnavailable):  # the database probe reports that; retried later
                self.settle_queue()
        except Exception as exc:  # a background thread: say so; the next retry tries again
            log(f"settling the payment queue failed: {type(exc).__name__}: {_first_line(exc)}")
        finally:
            self._settling.release()

    def _charge(self, payment: Payment) -> bool:
        try:
            ref = self._provider.charge(idempotency_key(payment.task_id), payment.amount_cents)
        except PaymentProviderUnavailable:
            return False
        self._store.mark_paid(payment.task_id, ref)
        return True


def retry_queue_every(cashier: Cashier, stop: threading.Event, every_s: float) -> None:
    """The queue's retry worker: ``cashier.retry()`` every ``every_s`` until ``stop``."""
    while not stop.wait(every_s):
        cashier.retry()


# --- health -----------------------------------------------------------------------------------


def compose_health(
    backend: str, version: str, db_problem: str | None, cache_problem: str | None
) -> tuple[int, dict[str, str]]:
    """The /health status code and body from each dependency's problem (None when it is fine).

    Without the database nothing useful can be served, so that is a 503 that takes the backend
    out of the load balancer; without the cache every request still succeeds, only slower.
    """
    if db_problem is not None:
        status, code = "down", 503
    elif cache_problem is not None:
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    return code, {
        "status": status,
        "backend": backend,
        "version": version,
        "database": "ok" if db_problem is None else f"down: {db_problem}",
        "cache": "ok" if cache_problem is None else f"down: {cache_problem}",
    }


def _problem(check: Callable[[], None]) -> str | None:
    try:
        check()
    except (DatabaseUnavailable, CacheUnavailable) as exc:
        return str(exc)
    return None


# --- request dispatch -------------------------------------------------------------------------


JSON_TYPE = "application/json"


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str = JSON_TYPE
    headers: tuple[tuple[str, str], ...] = ()


def json_response(
    status: int, data: Mapping[str, Any], headers: tuple[tuple[str, str], ...] = ()
) -> Response:
    return Response(status, json.dumps(data).encode(), JSON_TYPE, headers)


Route = Callable[[RouteMatch, bytes], Response]


class TaskApi:
    """Turns one request into one response; knows nothing of sockets or of metric libraries."""

    def __init__(
        self,
        *,
        backend: str,
        version: str,
        store: TaskStore,
        cache: TaskCache,
        reader: CachedTaskReader,
        render_metrics: Callable[[], tuple[bytes, str]],
        cashier: Cashier | None = None,
    ) -> None:
        self._backend = backend
        self._cashier = cashier
        self._version = version
        self._store = store
        self._cache = cache
        self._reader = reader
        self._render_metrics = render_metrics
        # Every route, in one place.
        self._routes: dict[tuple[str, str], Route] = {
            ("/health", "GET"): self._health,
            ("/metrics", "GET"): self._metrics,
            ("/tasks", "POST"): self._create,
            ("/tasks", "GET"): self._list,
            (TASK_ROUTE, "GET"): self._get,
            (PAY_ROUTE, "POST"): self._pay,
        }

    def handle(self, method: str, match: RouteMatch, body: bytes) -> Response:
        """Answer one request. Never raises for a client's or a dependency's fault."""
        route = self._routes.get((match.route, method))
        if route is None:
            allowed = sorted(m for r, m in self._routes if r == match.route)
            if not allowed:
                return json_response(404, {"error": "not found"})
            allow = (("Allow", ", ".join(allowed)),)
            return json_response(405, {"error": "method not allowed"}, allow)
        try:
            return route(match, body)
        except RequestRejected as exc:
            return json_response(exc.status, {"error": str(exc)})
        except DatabaseUnavailable:
            return json_response(503, {"error": "database unavailable"})

    def _health(self, match: RouteMatch, body: bytes) -> Response:
        code, report = compose_health(
            self._backend, self._version, _problem(self._store.ping), _problem(self._cache.ping)
        )
        return json_response(code, report)

    def _metrics(self, match: RouteMatch, body: bytes) -> Response:
        text, content_type = self._render_metrics()
        return Response(200, text, content_type)

    def _create(self, match: RouteMatch, body: bytes) -> Response:
        task = self._store.create(parse_new_task(body))
        return json_response(201, {**task.to_json(), "served_by": self._backend})

    def _list(self, match: RouteMatch, body: bytes) -> Response:
        ids = self._store.latest_ids(parse_limit(match.query))
        return json_response(200, {"ids": ids, "served_by": self._backend})

    def _get(self, match: RouteMatch, body: bytes) -> Response:
        assert match.task_id is not None  # match_route sets it for this route
        task = self._reader.get(match.task_id)
        if task is None:
            return json_response(404, {"error": f"task {match.task_id} not found"})
        return json_response(200, {**task.to_json(), "served_by": self._backend})

    def _pay(self, match: RouteMatch, body: bytes) -> Response:
        assert match.task_id is not None  # match_route sets it for this route
        amount_cents = parse_payment(body)
        if self._cashier is None:
            return json_response(503, {"error": "payments are not configured"})
        payment = self._cashier.pay(match.task_id, amount_cents)
        if payment is None:
            return json_response(404, {"error": f"task {match.task_id} not found"})
        # 202: accepted and kept, to be charged when the provider answers again.
        code = 200 if payment.status == "paid" else 202
        status = "paid" if payment.status == "paid" else "queued"
        return json_response(
            code, {**payment.to_json(), "status": status, "served_by": self._backend}
        )


# --- adapters: PostgreSQL, Redis, Prometheus (imported lazily, see the module docstring) ------

# psycopg2 ships no type hints; its connections are typed as Any.
PgConnection = Any


def _library(name: str) -> Any:
    # The adapters' libraries are imported on first use (see the module docstring) and typed as
    # Any: none of the three Debian packages ships type hints that a host could check against.
    return importlib.import_module(name)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def install_deadline_wait(timeout_s: float) -> None:
    """Make every psycopg2 network wait (connect, execute) give up after ``timeout_s``.

    libpq's own timeouts miss a database that is frozen (docker pause) or behind a proxy that
    holds the connection: the peer's kernel still acknowledges, so a blocking read waits for
    ever. psycopg2's wait callback puts each wait through select(), which takes a deadline.
    psycopg2 closes a connection whose wait callback raised, and the pool then drops it.
    """
    psycopg2 = _library("psycopg2")
    extensions = _library("psycopg2.extensions")

    def wait(conn: PgConnection) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            state = conn.poll()
            if state == extensions.POLL_OK:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise psycopg2.OperationalError(f"no answer within {timeout_s:g}s")
            if state == extensions.POLL_READ:
                select.select([conn.fileno()], [], [], remaining)
            elif state == extensions.POLL_WRITE:
                select.select([], [conn.fileno()], [], remaining)
            else:
                raise psycopg2.OperationalError(f"unexpected poll state {state}")

    extensions.set_wait_callback(wait)


def postgres_servers(config: Config) -> list[dict[str, str]]:
    """The servers to try, in turn, for a connection: the primary alone, or the primary then
    the standby, each asked to take writes (target_session_attrs), so that the standby is
    used once it is promoted. Tried one by one, not as libpq's host list: libpq moves to the
    next host only when a TCP connect fails, and the proxy in front of a dead primary
    accepts the connection and then closes it."""
    if not config.db_standby_port:
        return [{"host": config.db_host, "port": str(config.db_port)}]
    return [
        {"host": host, "port": str(port), "target_session_attrs": "read-write"}
        for host, port in (
            (config.db_host, config.db_port),
            (config.db_standby_host or config.db_host, config.db_standby_port),
        )
    ]


def connect_postgres(config: Config) -> PgConnection:
    """A new autocommit connection to the first of postgres_servers that takes writes;
    raises the last server's ``psycopg2.Error`` when none does."""
    psycopg2 = _library("psycopg2")
    *first, last = postgres_servers(config)
    for server in first:
        with suppress(psycopg2.Error):
            return _connect_to(config, server)
    return _connect_to(config, last)


def _connect_to(config: Config, server: Mapping[str, str]) -> PgConnection:
    conn = _library("psycopg2").connect(
        **server,
        dbname=config.db_name,
        user=config.db_user,
        password=config.db_password,
        application_name=f"taskapi-{config.backend_name}",
    )
    # Autocommit: each statement is its own transaction, so an INSERT has been committed when
    # execute() returns, and no connection sits idle in a transaction.
    conn.autocommit = True
    return conn


def _close_quietly(conn: PgConnection) -> None:
    # A connection being dropped has nothing left to tell.
    with suppress(Exception):
        conn.close()


def _has_pending_input(conn: PgConnection) -> bool:
    # An idle connection has nothing to read unless the server said goodbye (shutdown,
    # pg_terminate_backend) or the socket closed; such a connection would fail its next query.
    readable, _, _ = select.select([conn.fileno()], [], [], 0)
    return bool(readable)


class ConnectionPool:
    """At most ``size`` PostgreSQL connections shared by the request threads.

    Not psycopg2's ThreadedConnectionPool, which raises at once when every connection is busy
    and hands out connections the server has since closed: this one waits up to ``wait_s``
    for a free slot, drops any connection whose use raised or that the server closed while it
    was idle, and opens a new one on demand, so it recovers by itself after an outage.
    """

    def __init__(self, connect: Callable[[], PgConnection], size: int, wait_s: float) -> None:
        self._connect = connect
        self._slots = threading.BoundedSemaphore(size)
        self._wait_s = wait_s
        self._lock = threading.Lock()
        self._idle: list[PgConnection] = []
        self._in_use = 0

    @property
    def in_use(self) -> int:
        return self._in_use

    @contextmanager
    def connection(self) -> Iterator[PgConnection]:
        """Lend a connection; raises ``DatabaseUnavailable`` when none frees up in time."""
        if not self._slots.acquire(timeout=self._wait_s):
            raise DatabaseUnavailable(f"no free pooled connection within {self._wait_s:g}s")
        with self._lock:
            self._in_use += 1
        conn = None
        try:
            conn = self._take_idle() or self._connect()
            yield conn
        except BaseException:
            if conn is not None:
                _close_quietly(conn)
            raise
        else:
            with self._lock:
                self._idle.append(conn)
        finally:
            with self._lock:
                self._in_use -= 1
            self._slots.release()

    def _take_idle(self) -> PgConnection | None:
        while True:
            with self._lock:
                if not self._idle:
                    return None
                conn = self._idle.pop()
            if not conn.closed and not _has_pending_input(conn):
                return conn
            _close_quietly(conn)

    def discard_idle(self) -> None:
        """Close every idle connection: after an outage they are likely dead."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            _close_quietly(conn)


class Metrics:
    """taskapi's Prometheus metrics, in a registry of their own."""

    def __init__(self, backend: str, version: str) -> None:
        prom = _library("prometheus_client")
        self._prom = prom
        self.registry = prom.CollectorRegistry()
        prom.ProcessCollector(registry=self.registry)
        r = self.registry
        self._requests = prom.Counter(
            "taskapi_http_requests_total",
            "HTTP requests answered",
            ["route", "method", "status"],
            registry=r,
        )
        self._duration = prom.Histogram(
            "taskapi_http_request_duration_seconds",
            "Time to answer an HTTP request",
            ["route", "method"],
            buckets=HTTP_BUCKETS_S,
            registry=r,
        )
        self._errors = prom.Counter(
            "taskapi_http_errors_total", "HTTP requests answered 5xx", ["route"], registry=r
        )
        self._hits = prom.Counter(
            "taskapi_cache_hits_total", "Task reads the cache answered", registry=r
        )
        self._misses = prom.Counter(
            "taskapi_cache_misses_total", "Task reads not in the cache", registry=r
        )
        self._cache_errors = prom.Counter(
            "taskapi_cache_errors_total", "Cache operations of task reads that failed", registry=r
        )
        self._db_roundtrip = prom.Histogram(
            "taskapi_db_roundtrip_seconds",
            "Time of database round trips: kind=probe for the background SELECT 1 (the "
            "network path alone), kind=query for the requests' queries (with pool waits)",
            ["kind"],
            buckets=DB_BUCKETS_S,
            registry=r,
        )
        self._db_errors = prom.Counter(
            "taskapi_db_errors_total", "Database operations of requests that failed", registry=r
        )
        self._db_up = prom.Gauge(
            "taskapi_db_up", "1 when the last background database probe succeeded", registry=r
        )
        self._cache_up = prom.Gauge(
            "taskapi_cache_up", "1 when the last background cache probe succeeded", registry=r
        )
        self._pool_in_use = prom.Gauge(
            "taskapi_db_pool_in_use", "Database connections lent to requests", registry=r
        )
        self._payments = prom.Counter(
            "taskapi_payments_total",
            "Payments taken: result=paid (charged at once), queued (provider away, kept as "
            "pending), settled (charged later from the queue)",
            ["result"],
            registry=r,
        )
        for result in ("paid", "queued", "settled"):
            self._payments.labels(result=result)
        prom.Gauge(
            "taskapi_build_info",
            "Which backend and version this is",
            ["backend", "version"],
            registry=r,
        ).labels(backend=backend, version=version).set(1)

    def observe_request(self, route: str, method: str, status: int, duration_s: float) -> None:
        self._requests.labels(route=route, method=method, status=str(status)).inc()
        self._duration.labels(route=route, method=method).observe(duration_s)
        if status >= 500:
            self._errors.labels(route=route).inc()

    def cache_hit(self) -> None:
        self._hits.inc()

    def cache_miss(self) -> None:
        self._misses.inc()

    def cache_error(self) -> None:
        self._cache_errors.inc()

    def db_roundtrip(self, seconds: float, kind: str = "query") -> None:
        self._db_roundtrip.labels(kind=kind).observe(seconds)

    def db_error(self) -> None:
        self._db_errors.inc()

    def set_up(self, *, db: bool, cache: bool) -> None:
        self._db_up.set(1 if db else 0)
        self._cache_up.set(1 if cache else 0)

    def payment(self, result: str) -> None:
        self._payments.labels(result=result).inc()

    def track_pool(self, pool: ConnectionPool) -> None:
        self._pool_in_use.set_function(lambda: pool.in_use)

    def render(self) -> tuple[bytes, str]:
        return self._prom.generate_latest(self.registry), self._prom.CONTENT_TYPE_LATEST


class PostgresStore:
    """``TaskStore`` on PostgreSQL through the pool; wraps every psycopg2 error."""

    def __init__(self, pool: ConnectionPool, metrics: Metrics) -> None:
        self._pool = pool
        self._metrics = metrics

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        psycopg2 = _library("psycopg2")
        started = time.monotonic()
        try:
            with self._pool.connection() as conn, conn.cursor() as cur:
                yield cur
        except psycopg2.Error as exc:
            self._metrics.db_error()
            raise DatabaseUnavailable(_first_line(exc)) from exc
        except DatabaseUnavailable:
            self._metrics.db_error()
            raise
        self._metrics.db_roundtrip(time.monotonic() - started)

    def create(self, new: NewTask) -> Task:
        # A missing payload is stored as SQL NULL, not as the JSON value null.
        payload = None if new.payload is None else _library("psycopg2.extras").Json(new.payload)
        with self._cursor() as cur:
            cur.execute(
                "INSERT INTO tasks (title, payload) VALUES (%s, %s)"
                " RETURNING id, title, payload, created_at",
                (new.title, payload),
            )
            row = cur.fetchone()
        return _task_from_row(row)

    def get(self, task_id: int) -> Task | None:
        with self._cursor() as cur:
            cur.execute(
                "SELECT id, title, payload, created_at FROM tasks WHERE id = %s", (task_id,)
            )
            row = cur.fetchone()
        return None if row is None else _task_from_row(row)

    def latest_ids(self, limit: int) -> list[int]:
        with self._cursor() as cur:
            cur.execute("SELECT id FROM tasks ORDER BY id DESC LIMIT %s", (limit,))
            rows = cur.fetchall()
        return [row[0] for row in rows]

    def ping(self) -> None:
        with self._cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchone()

    def record_payment(self, task_id: int, amount_cents: int) -> Payment | None:
        with self._cursor() as cur:
            # Committed (autocommit) before the provider is asked: the payment is kept whatever
            # the provider does. A second payment of the same task is the first one.
            cur.execute(
                "INSERT INTO payments (task_id, amount_cents) SELECT id, %s FROM tasks"
                " WHERE id = %s ON CONFLICT (task_id) DO NOTHING"
                " RETURNING task_id, amount_cents, status",
                (amount_cents, task_id),
            )
            row = cur.fetchone()
            if row is None:
                cur.execute(
                    "SELECT task_id, amount_cents, status FROM payments WHERE task_id = %s",
                    (task_id,),
                )
                row = cur.fetchone()
        return None if row is None else Payment(*row)

    def mark_paid(self, task_id: int, provider_ref: str) -> None:
        with self._cursor() as cur:
            cur.execute(
                "UPDATE payments SET status = 'paid', provider_ref = %s, paid_at = now()"
                " WHERE task_id = %s AND status = 'pending'",
                (provider_ref, task_id),
            )

    def queued_payments(self, limit: int) -> list[Payment]:
        with self._cursor() as cur:
            cur.execute(
                "SELECT task_id, amount_cents, status FROM payments WHERE status = 'pending'"
                " ORDER BY task_id LIMIT %s",
                (limit,),
            )
            rows = cur.fetchall()
        return [Payment(*row) for row in rows]


def _task_from_row(row: tuple[Any, ...]) -> Task:
    task_id, title, payload, created_at = row
    return Task(id=task_id, title=title, payload=payload, created_at=created_at.isoformat())


class RedisCache:
    """``TaskCache`` on Redis; wraps every redis error."""

    def __init__(self, host: str, port: int, timeout_s: float) -> None:
        redis = _library("redis")
        no_backoff = _library("redis.backoff").NoBackoff
        retry = _library("redis.retry").Retry
        self._errors = (redis.RedisError, OSError)
        self._client = redis.Redis(
            host=host,
            port=port,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            # One immediate retry on a connection error, so that the first command on a
            # connection that died while idle (Redis restarted) reconnects instead of failing;
            # none on a timeout, which would double the wait on a frozen Redis.
            retry=retry(no_backoff(), 1, supported_errors=(redis.ConnectionError,)),
            retry_on_error=[redis.ConnectionError],
        )

    def get(self, key: str) -> bytes | None:
        try:
            value: bytes | None = self._client.get(key)
        except self._errors as exc:
            raise CacheUnavailable(_first_line(exc)) from exc
        return value

    def set(self, key: str, value: bytes, ttl_s: int) -> None:
        try:
            self._client.set(key, value, ex=ttl_s)
        except self._errors as exc:
            raise CacheUnavailable(_first_line(exc)) from exc

    def ping(self) -> None:
        try:
            self._client.ping()
        except self._errors as exc:
            raise CacheUnavailable(_first_line(exc)) from exc


class Probe(threading.Thread):
    """Once a second: create the schema until it exists, then time ``SELECT 1`` and ping Redis.

    It feeds taskapi_db_up and taskapi_cache_up through a database connection of its own, so
    that a pool busy with requests never reads as a database that is down. The schema is made
    here, not before serving, so that /health and /metrics answer while the database is down;
    retrying also settles two backends racing to create the same table.
    """

    def __init__(
        self,
        *,
        connect: Callable[[], PgConnection],
        pool: ConnectionPool,
        cache: RedisCache,
        metrics: Metrics,
        stop: threading.Event,
    ) -> None:
        super().__init__(name="probe", daemon=True)
        self._connect = connect
        self._pool = pool
        self._cache = cache
        self._metrics = metrics
        self._stopping = stop
        self._conn: PgConnection | None = None
        self._schema_ready = False
        self._was_up: dict[str, bool] = {}

    def run(self) -> None:
        while not self._stopping.is_set():
            db_problem, cache_problem = self._check_db(), _problem(self._cache.ping)
            self._metrics.set_up(db=db_problem is None, cache=cache_problem is None)
            self._log_changes(db_problem, cache_problem)
            self._stopping.wait(PROBE_INTERVAL_S)
        if self._conn is not None:
            _close_quietly(self._conn)

    def _check_db(self) -> str | None:
        psycopg2 = _library("psycopg2")
        try:
            if self._conn is None:
                self._conn = self._connect()
            with self._conn.cursor() as cur:
                if not self._schema_ready:
                    cur.execute(SCHEMA_SQL)
                    self._schema_ready = True
                started = time.monotonic()
                cur.execute("SELECT 1")
                cur.fetchone()
                self._metrics.db_roundtrip(time.monotonic() - started, kind="probe")
        except psycopg2.Error as exc:
            if self._conn is not None:
                _close_quietly(self._conn)
                self._conn = None
            self._pool.discard_idle()
            return _first_line(exc)
        return None

    def _log_changes(self, db_problem: str | None, cache_problem: str | None) -> None:
        # One line per change of state, not one per second of an outage.
        for name, problem in (("database", db_problem), ("cache", cache_problem)):
            is_up = problem is None
            if self._was_up.get(name) != is_up:
                log(f"{name} up" if is_up else f"{name} down: {problem}")
            self._was_up[name] = is_up


class HttpPaymentProvider:
    """``PaymentProvider`` over HTTP: ``POST {url}/charges``."""

    def __init__(self, url: str, timeout_s: float) -> None:
        self._url = url
        self._timeout_s = timeout_s

    def _post(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            self._url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": JSON_TYPE},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as answer:
                data = json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            raise PaymentProviderUnavailable(f"provider answered {exc.code}") from exc
        except (OSError, ValueError, http.client.HTTPException) as exc:
            # URLError, timeouts and resets are OSErrors; ValueError: an answer that is not JSON;
            # HTTPException: a broken answer (a bad status line, a body cut short).
            raise PaymentProviderUnavailable(_first_line(exc)) from exc
        if not isinstance(data, dict):
            raise PaymentProviderUnavailable("provider answered something that is not an object")
        return data

    def charge(self, idempotency_key: str, amount_cents: int) -> str:
        data = self._post(
            "/charges", {"idempotency_key": idempotency_key, "amount_cents": amount_cents}
        )
        ref = data.get("charge_id")
        if not isinstance(ref, str):
            raise PaymentProviderUnavailable("provider answered without a charge_id")
        return ref


# --- HTTP server ------------------------------------------------------------------------------


def log(line: str) -> None:
    # One write per line, so that lines from concurrent request threads do not interleave.
    sys.stdout.write(line + "\n")


class InFlight:
    """Counts requests being answered, so that a stop can let them finish."""

    def __init__(self) -> None:
        self._count = 0
        self._changed = threading.Condition()

    @contextmanager
    def track(self) -> Iterator[None]:
        with self._changed:
            self._count += 1
        try:
            yield
        finally:
            with self._changed:
                self._count -= 1
                self._changed.notify_all()

    def wait_idle(self, timeout_s: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self._count == 0, timeout_s)


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if "Transfer-Encoding" in handler.headers:
        raise RequestRejected("send a Content-Length, not chunked", 411)
    raw = handler.headers.get("Content-Length", "0").strip()
    if not raw.isdigit():
        raise RequestRejected("Content-Length is not a number")
    length = int(raw)
    if length > MAX_BODY_BYTES:
        raise RequestRejected(f"body over {MAX_BODY_BYTES} bytes", 413)
    return handler.rfile.read(length)


def make_handler(
    app: TaskApi,
    observe: Callable[[str, str, int, float], None],
    inflight: InFlight,
) -> type[BaseHTTPRequestHandler]:
    """The request handler class of the HTTP server, bound to one ``TaskApi``."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "taskapi"
        timeout = IDLE_CONNECTION_TIMEOUT_S

        def do_GET(self) -> None:
            self._serve()

        do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

        def _serve(self) -> None:
            started = time.monotonic()
            match = match_route(self.path)
            with inflight.track():
                try:
                    response = app.handle(self.command, match, _read_body(self))
                except RequestRejected as exc:
                    # The unread rest of the body would be taken for the next request.
                    self.close_connection = True
                    response = json_response(exc.status, {"error": str(exc)})
                except Exception as exc:
                    log(f"error: {self.command} {match.route}: {exc!r}")
                    response = json_response(500, {"error": "internal error"})
                self._send(response)
            elapsed_s = time.monotonic() - started
            observe(match.route, self.command, response.status, elapsed_s)
            log(f"{self.command} {match.route} {response.status} {elapsed_s * 1000:.1f}ms")

        def _send(self, response: Response) -> None:
            try:
                self.send_response(response.status)
                self.send_header("Content-Type", response.content_type)
                self.send_header("Content-Length", str(len(response.body)))
                for name, value in response.headers:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(response.body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:
            # _serve writes the one line per request; the default also logs the raw path.
            pass

    return Handler


def main() -> int:
    try:
        config = Config.from_env(os.environ)
    except ValueError as exc:
        log(f"taskapi: {exc}")
        return 2
    metrics = Metrics(config.backend_name, config.version)
    install_deadline_wait(config.db_timeout_s)

    def connect() -> PgConnection:
        return connect_postgres(config)

    pool = ConnectionPool(connect, config.db_pool_size, config.db_timeout_s)
    metrics.track_pool(pool)
    store = PostgresStore(pool, metrics)
    cache = RedisCache(config.redis_host, config.redis_port, config.cache_timeout_s)
    cashier = None
    if config.payment_url:
        provider = HttpPaymentProvider(config.payment_url, config.payment_timeout_s)
        cashier = Cashier(store, provider, metrics)
    app = TaskApi(
        backend=config.backend_name,
        version=config.version,
        store=store,
        cache=cache,
        reader=CachedTaskReader(store, cache, metrics, config.cache_ttl_s),
        render_metrics=metrics.render,
        cashier=cashier,
    )
    stop = threading.Event()
    inflight = InFlight()
    server = ThreadingHTTPServer(
        ("0.0.0.0", config.port), make_handler(app, metrics.observe_request, inflight)
    )
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    probe = Probe(connect=connect, pool=pool, cache=cache, metrics=metrics, stop=stop)
    probe.start()
    if cashier is not None:
        threading.Thread(
            target=retry_queue_every,
            args=(cashier, stop, PAYMENT_RETRY_S),
            name="payments-retry",
            daemon=True,
        ).start()
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    log(f"taskapi {config.backend_name} version {config.version} listening on :{config.port}")
    stop.wait()
    log("stopping")
    server.shutdown()
    if not inflight.wait_idle(STOP_GRACE_S):
        log(f"stopping with requests still running after {STOP_GRACE_S:g}s")
    server.server_close()
    probe.join(timeout=PROBE_INTERVAL_S + config.db_timeout_s)
    pool.discard_idle()
    log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
