"""The shop's shipping worker: takes order jobs from beanstalkd and ships the orders.

    python3 worker.py                 consume the queue; /health and /metrics on :8001
    python3 worker.py --requeue [-s N] put orders still "queued" or "processing" N seconds
                                      (default 5) after they were placed back in the queue

A job is deleted only after its order is committed as "shipped"; a job whose order cannot
be shipped (the database is gone) is released with a delay and comes back. Shipping is
idempotent (an order already shipped stays shipped), so a job delivered twice - after a
worker died holding it, or after --requeue - does no harm.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import common
from beanstalk import Beanstalk, BeanstalkError, QueueStats
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

log = logging.getLogger("worker")

REGISTRY = CollectorRegistry()
PROCESSED = Counter(
    "orders_worker_processed_total",
    "Order jobs taken from the queue and finished",
    ["result"],
    registry=REGISTRY,
)
LAST_PROCESSED = Gauge(
    "orders_worker_last_processed_timestamp_seconds",
    "When the worker last shipped an order (0: not yet)",
    registry=REGISTRY,
)
HEARTBEAT = Gauge(
    "orders_worker_heartbeat_timestamp_seconds",
    "When the consumer loop last came round (at least once a second when it runs)",
    registry=REGISTRY,
)
DURATION = Histogram(
    "orders_worker_job_duration_seconds",
    "Time to ship one order",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
    registry=REGISTRY,
)
for result in ("shipped", "already_shipped", "unknown_order", "retry"):
    PROCESSED.labels(result)

WORK_S = float(os.environ.get("WORKER_WORK_MS", "20")) / 1000  # packing the parcel
HEALTHY_HEARTBEAT_S = 5.0
_last_beat = 0.0  # time.time() of the consumer loop's last round, for /health


def ship(conn, order_id: int) -> str:
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE orders SET status = 'processing' WHERE id = %s AND status = 'queued'",
            (order_id,),
        )
    conn.commit()
    time.sleep(WORK_S)
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE orders SET status = 'shipped' WHERE id = %s AND status <> 'shipped'",
            (order_id,),
        )
        changed = cur.rowcount
        if not changed:
            cur.execute("SELECT status FROM orders WHERE id = %s", (order_id,))
            row = cur.fetchone()
    conn.commit()
    if changed:
        return "shipped"
    return "already_shipped" if row else "unknown_order"


def consume(stop: threading.Event) -> None:
    q: Beanstalk | None = None
    conn = None
    global _last_beat
    while not stop.is_set():
        _last_beat = time.time()
        HEARTBEAT.set(_last_beat)
        try:
            if q is None:
                q = Beanstalk(common.QUEUE_HOST, common.QUEUE_PORT, timeout=common.QUEUE_TIMEOUT_S)
                q.watch(common.TUBE)
            job = q.reserve(timeout_s=1)
            if job is None:
                continue
            job_id, body = job
            started = time.perf_counter()
            try:
                if conn is None:
                    conn = common.connect_db(timeout_s=2)
                result = ship(conn, int(body))
            except Exception as exc:
                log.warning("job %s (order %s) not shipped: %s", job_id, body[:20], exc)
                PROCESSED.labels("retry").inc()
                if conn is not None:
                    common.close_quietly(conn)
                conn = None
                q.release(job_id, delay=1)
                stop.wait(0.5)
                continue
            q.delete(job_id)
            DURATION.observe(time.perf_counter() - started)
            PROCESSED.labels(result).inc()
            if result == "shipped":
                LAST_PROCESSED.set_to_current_time()
        except (OSError, BeanstalkError) as exc:
            log.warning("queue unavailable: %s", exc)
            if q is not None:
                q.close()
            q = None
            stop.wait(0.5)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        # A client that gave up (a probe's timeout) is not an error of the worker's.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._write(status, body, content_type)

    def _write(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._send(200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
        elif path == "/health":
            deps = common.check_dependencies()
            beat_age = time.time() - _last_beat
            deps["consumer"] = (
                "ok" if beat_age < HEALTHY_HEARTBEAT_S else f"stalled for {beat_age:.0f} s"
            )
            ok = all(v == "ok" for v in deps.values())
            body = {"status": "ok" if ok else "unavailable", **deps}
            self._send(200 if ok else 503, json.dumps(body).encode() + b"\n")
        else:
            self._send(404, b'{"error": "not found"}\n')


def requeue(older_than_s: float) -> int:
    """Put every order not yet shipped, placed more than older_than_s ago, in the queue."""
    conn = common.connect_db(timeout_s=5)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT id FROM orders WHERE status IN ('queued', 'processing')"
                " AND created_at < NOW(3) - INTERVAL %s MICROSECOND ORDER BY id",
                (int(older_than_s * 1_000_000),),
            )
            ids = [row["id"] for row in cur.fetchall()]
    finally:
        common.close_quietly(conn)
    with common.connect_queue(timeout_s=5) as q:
        for order_id in ids:
            q.put(str(order_id).encode())
    print(f"requeued {len(ids)} order(s)")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requeue", action="store_true", help="requeue stuck orders and exit")
    parser.add_argument("-s", "--older-than", type=float, default=5.0, metavar="SECONDS")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s")
    if args.requeue:
        return requeue(args.older_than)
    QueueStats(common.QUEUE_HOST, common.QUEUE_PORT, common.TUBE, REGISTRY).start()
    stop = threading.Event()
    threading.Thread(target=consume, args=(stop,), name="consumer", daemon=True).start()
    port = int(os.environ.get("WORKER_PORT", "8001"))
    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    server.daemon_threads = True
    log.info("listening on :%d, consuming tube %r", port, common.TUBE)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
