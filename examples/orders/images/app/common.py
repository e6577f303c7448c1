"""What the web API and the worker share: configuration, database connections, the queue."""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pymysql
from beanstalk import Beanstalk

DB = dict(
    host=os.environ.get("DB_HOST", "mariadb"),
    port=int(os.environ.get("DB_PORT", "3306")),
    user=os.environ.get("DB_USER", "shop"),
    password=os.environ.get("DB_PASSWORD", "shop-app"),
    database=os.environ.get("DB_NAME", "shop"),
)
QUEUE_HOST = os.environ.get("QUEUE_HOST", "queue")
QUEUE_PORT = int(os.environ.get("QUEUE_PORT", "11300"))
TUBE = os.environ.get("QUEUE_TUBE", "orders")
# Requests must not wait long on a dependency that has gone: the load gives up at 2 s.
DB_TIMEOUT_S = float(os.environ.get("DB_TIMEOUT_S", "1"))
QUEUE_TIMEOUT_S = float(os.environ.get("QUEUE_TIMEOUT_S", "1"))
# /health answers within this (plus a little), both dependencies being asked at once.
HEALTH_TIMEOUT_S = float(os.environ.get("HEALTH_TIMEOUT_S", "0.7"))


def connect_db(timeout_s: float = DB_TIMEOUT_S) -> pymysql.connections.Connection:
    return pymysql.connect(
        **DB,
        connect_timeout=timeout_s,
        read_timeout=timeout_s,
        write_timeout=timeout_s,
        autocommit=False,
        charset="utf8mb4",
        cursorclass=pymysql.cursors.DictCursor,
    )


def connect_queue(timeout_s: float = QUEUE_TIMEOUT_S) -> Beanstalk:
    q = Beanstalk(QUEUE_HOST, QUEUE_PORT, timeout=timeout_s)
    try:
        q.use(TUBE)
    except BaseException:
        q.close()
        raise
    return q


class Pool:
    """A few reusable connections. One that failed is closed, not returned."""

    def __init__(self, factory: Callable[[], Any], size: int) -> None:
        self._factory = factory
        self._idle: queue.LifoQueue[Any] = queue.LifoQueue(maxsize=size)

    @contextmanager
    def get(self) -> Iterator[Any]:
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            conn = self._factory()
        try:
            yield conn
        except BaseException:
            close_quietly(conn)
            raise
        try:
            self._idle.put_nowait(conn)
        except queue.Full:
            close_quietly(conn)

    def clear(self) -> None:
        while True:
            try:
                close_quietly(self._idle.get_nowait())
            except queue.Empty:
                return


def close_quietly(conn: Any) -> None:
    # Closing a broken connection may fail in any way; it is being thrown away anyway.
    with contextlib.suppress(Exception):
        conn.close()


def _ask_database() -> None:
    conn = connect_db(timeout_s=HEALTH_TIMEOUT_S)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
    finally:
        close_quietly(conn)


def _ask_queue() -> None:
    with connect_queue(timeout_s=HEALTH_TIMEOUT_S) as q:
        q.stats_tube(TUBE)


def check_dependencies() -> dict[str, str]:
    """Ask the database and the queue, side by side, on fresh connections.

    Both at once, so that the answer comes within HEALTH_TIMEOUT_S even when both are gone:
    a probe that gives up first (the blackbox exporter waits 900 ms) would see no answer at
    all rather than a 503 that says which one failed.
    """
    result = {"database": "error: no answer", "queue": "error: no answer"}

    def ask(name: str, fn: Callable[[], None]) -> None:
        try:
            fn()
            result[name] = "ok"
        except Exception as exc:
            result[name] = f"error: {type(exc).__name__}"

    threads = [
        threading.Thread(target=ask, args=("database", _ask_database), daemon=True),
        threading.Thread(target=ask, args=("queue", _ask_queue), daemon=True),
    ]
    for t in threads:
        t.start()
    deadline = time.monotonic() + HEALTH_TIMEOUT_S + 0.1
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    return dict(result)
