"""What the web API and the worker share: configuration, database connections, the queue."""

from __future__ import annotations

import contextlib
import os
import queue
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


def check_dependencies() -> dict[str, str]:
    """Ask the database and the queue, on fresh connections with short timeouts."""
    result: dict[str, str] = {}
    try:
        conn = connect_db()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
            result["database"] = "ok"
        finally:
            close_quietly(conn)
    except Exception as exc:
        result["database"] = f"error: {type(exc).__name__}"
    try:
        with connect_queue() as q:
            q.stats_tube(TUBE)
        result["queue"] = "ok"
    except Exception as exc:
        result["queue"] = f"error: {type(exc).__name__}"
    return result
