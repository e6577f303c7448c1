"""The shop's order API.

    POST /orders       {"item": str, "quantity": int} -> 201 {"id": N}, after the commit
    GET  /orders/{id}  -> 200 the order, or 404
    GET  /health       -> 200 if the database and the queue answer, else 503
    GET  /metrics      -> Prometheus text format

An order is acknowledged only once it is committed in MariaDB, so an acknowledged order is
never lost. The job that tells the worker to ship it is put in beanstalkd after the commit;
if that fails the order is still acknowledged (it is safe, in status "queued") and
`worker.py --requeue` puts it back in the queue later. Answering an error instead would
make the client retry and place the order twice.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import common
from beanstalk import BeanstalkError, QueueStats
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

log = logging.getLogger("web")

REGISTRY = CollectorRegistry()
REQUESTS = Counter(
    "orders_http_requests_total",
    "HTTP requests answered",
    ["method", "route", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "orders_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0),
    registry=REGISTRY,
)
ENQUEUE_FAILURES = Counter(
    "orders_enqueue_failures_total",
    "Committed orders whose job could not be put in the queue",
    registry=REGISTRY,
)
ORDERS_PLACED = Counter(
    "orders_placed_total", "Orders committed and acknowledged", registry=REGISTRY
)

DB_POOL = common.Pool(common.connect_db, size=int(os.environ.get("DB_POOL_SIZE", "8")))
QUEUE_POOL = common.Pool(common.connect_queue, size=4)
# After a failed put, orders skip the queue for this long instead of each waiting out the
# queue's timeout: they are committed either way, and --requeue sends them later.
QUEUE_BACKOFF_S = float(os.environ.get("QUEUE_BACKOFF_S", "1"))
_queue_skip_until = 0.0
ORDER_PATH = re.compile(r"^/orders/(\d{1,18})$")
MAX_BODY = 64 * 1024


class Handler(BaseHTTPRequestHandler):
    server_version = "orders-web/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt: str, *args: object) -> None:  # quiet: metrics say enough
        pass

    # -- plumbing -----------------------------------------------------------------------

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self._status = status
        self._sent = True

    def _json(self, status: int, obj: object) -> None:
        self._send(status, json.dumps(obj, default=str).encode() + b"\n")

    def _timed(self, method: str, route: str, fn) -> None:
        started = time.perf_counter()
        self._status, self._sent = 500, False
        try:
            fn()
        except (BrokenPipeError, ConnectionResetError):
            self._status = 499  # the client gave up before the answer (nginx's code for it)
        except Exception:
            log.exception("%s %s failed", method, self.path)
            if not self._sent:
                with contextlib.suppress(OSError):  # the client may be gone
                    self._json(500, {"error": "internal error"})
        finally:
            LATENCY.labels(route).observe(time.perf_counter() - started)
            REQUESTS.labels(method, route, str(self._status)).inc()

    # -- routes -------------------------------------------------------------------------

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._send(200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
        elif path == "/health":
            self._timed("GET", "/health", self._health)
        elif (m := ORDER_PATH.match(path)) is not None:
            self._timed("GET", "/orders/{id}", lambda: self._get_order(int(m.group(1))))
        else:
            self._timed("GET", "other", lambda: self._json(404, {"error": "not found"}))

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/orders":
            self._timed("POST", "/orders", self._place_order)
        else:
            self._timed("POST", "other", lambda: self._json(404, {"error": "not found"}))

    def _health(self) -> None:
        deps = common.check_dependencies()
        ok = all(v == "ok" for v in deps.values())
        self._json(200 if ok else 503, {"status": "ok" if ok else "unavailable", **deps})

    def _get_order(self, order_id: int) -> None:
        try:
            with DB_POOL.get() as conn:
                with conn.cursor() as cur:
                    cur.execute(
                        "SELECT id, item, quantity, status, created_at, updated_at"
                        " FROM orders WHERE id = %s",
                        (order_id,),
                    )
                    row = cur.fetchone()
                conn.rollback()  # end the read's transaction: the next read sees new commits
        except Exception as exc:
            self._json(503, {"error": f"database unavailable: {type(exc).__name__}"})
            return
        if row is None:
            self._json(404, {"error": "no such order"})
        else:
            self._json(200, row)

    def _read_order_request(self) -> tuple[str, int] | str:
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            return "bad Content-Length"
        if length <= 0 or length > MAX_BODY:
            return "a JSON body of at most 64 KiB is required"
        try:
            data = json.loads(self.rfile.read(length))
        except (ValueError, UnicodeDecodeError):
            return "the body is not JSON"
        if not isinstance(data, dict):
            return "the body must be a JSON object"
        item, quantity = data.get("item"), data.get("quantity")
        if not isinstance(item, str) or not 1 <= len(item) <= 200:
            return "item must be a string of 1 to 200 characters"
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= 1000:
            return "quantity must be an integer from 1 to 1000"
        return item, quantity

    def _place_order(self) -> None:
        parsed = self._read_order_request()
        if isinstance(parsed, str):
            self.close_connection = True  # the body may be unread: do not parse it as a request
            self._json(400, {"error": parsed})
            return
        item, quantity = parsed
        try:
            with DB_POOL.get() as conn:
                with conn.cursor() as cur:
                    cur.execute(
                        "INSERT INTO orders (item, quantity) VALUES (%s, %s)", (item, quantity)
                    )
                    order_id = cur.lastrowid
                conn.commit()
        except Exception as exc:
            # Not committed (or not known to be): not acknowledged.
            self._json(503, {"error": f"database unavailable: {type(exc).__name__}"})
            return
        ORDERS_PLACED.inc()
        queued = enqueue(order_id)
        self._json(201, {"id": order_id, "status": "queued", "enqueued": queued})


def enqueue(order_id: int) -> bool:
    """Put the order's job in the queue; False when it could not (the order stays queued)."""
    global _queue_skip_until
    if time.monotonic() < _queue_skip_until:
        ENQUEUE_FAILURES.inc()
        return False
    try:
        with QUEUE_POOL.get() as q:
            q.put(str(order_id).encode())
    except (OSError, BeanstalkError) as exc:
        _queue_skip_until = time.monotonic() + QUEUE_BACKOFF_S
        QUEUE_POOL.clear()  # the other idle connections lead to the same dead queue
        ENQUEUE_FAILURES.inc()
        log.warning("order %s committed but not queued: %s", order_id, exc)
        return False
    return True


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s web %(levelname)s %(message)s")
    QueueStats(common.QUEUE_HOST, common.QUEUE_PORT, common.TUBE, REGISTRY).start()
    port = int(os.environ.get("WEB_PORT", "8000"))
    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    server.daemon_threads = True
    log.info("listening on :%d", port)
    server.serve_forever()


if __name__ == "__main__":
    main()
