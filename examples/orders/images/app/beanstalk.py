"""A minimal beanstalkd client: the few commands of its text protocol the shop uses.

Debian ships no Python client for beanstalkd, and the protocol is small
(https://github.com/beanstalkd/beanstalkd/blob/master/doc/protocol.txt): a command line
ends in CRLF, a job body follows its command line and ends in CRLF too.
Every socket operation has a timeout, so a frozen or vanished queue costs at most that.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

__all__ = ["Beanstalk", "BeanstalkError", "QueueStats"]


class BeanstalkError(Exception):
    """The queue answered something other than what the command expects."""


class Beanstalk:
    def __init__(self, host: str, port: int = 11300, timeout: float = 1.0) -> None:
        self.timeout = timeout
        self._sock = socket.create_connection((host, port), timeout=timeout)
        self._buf = b""

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.close()

    def __enter__(self) -> Beanstalk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- framing ------------------------------------------------------------------------

    def _line(self) -> bytes:
        while b"\r\n" not in self._buf:
            chunk = self._sock.recv(4096)
            if not chunk:
                raise ConnectionError("beanstalkd closed the connection")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\r\n", 1)
        return line

    def _body(self, size: int) -> bytes:
        while len(self._buf) < size + 2:
            chunk = self._sock.recv(max(4096, size + 2 - len(self._buf)))
            if not chunk:
                raise ConnectionError("beanstalkd closed the connection")
            self._buf += chunk
        body, self._buf = self._buf[:size], self._buf[size + 2 :]
        return body

    def _call(
        self, line: str, body: bytes | None = None, read_timeout: float | None = None
    ) -> list[str]:
        data = line.encode() + b"\r\n"
        if body is not None:
            data += body + b"\r\n"
        self._sock.settimeout(self.timeout)
        self._sock.sendall(data)
        if read_timeout is not None:
            self._sock.settimeout(read_timeout)
        return self._line().decode().split()

    # -- commands -----------------------------------------------------------------------

    def use(self, tube: str) -> None:
        reply = self._call(f"use {tube}")
        if reply[:1] != ["USING"]:
            raise BeanstalkError(" ".join(reply))

    def watch(self, tube: str) -> None:
        reply = self._call(f"watch {tube}")
        if reply[:1] != ["WATCHING"]:
            raise BeanstalkError(" ".join(reply))
        if tube != "default":
            self._call("ignore default")

    def put(self, body: bytes, priority: int = 1024, delay: int = 0, ttr: int = 10) -> int:
        reply = self._call(f"put {priority} {delay} {ttr} {len(body)}", body)
        if reply[:1] != ["INSERTED"]:
            raise BeanstalkError(" ".join(reply))
        return int(reply[1])

    def reserve(self, timeout_s: int) -> tuple[int, bytes] | None:
        """The next job, or None when none came within timeout_s seconds."""
        reply = self._call(
            f"reserve-with-timeout {timeout_s}", read_timeout=timeout_s + self.timeout
        )
        if reply[:1] == ["TIMED_OUT"] or reply[:1] == ["DEADLINE_SOON"]:
            return None
        if reply[:1] != ["RESERVED"]:
            raise BeanstalkError(" ".join(reply))
        return int(reply[1]), self._body(int(reply[2]))

    def delete(self, job_id: int) -> None:
        reply = self._call(f"delete {job_id}")
        if reply[:1] not in (["DELETED"], ["NOT_FOUND"]):
            raise BeanstalkError(" ".join(reply))

    def release(self, job_id: int, priority: int = 1024, delay: int = 1) -> None:
        self._call(f"release {job_id} {priority} {delay}")

    def stats_tube(self, tube: str) -> dict[str, str]:
        """The tube's counters; an empty dict when the tube does not exist yet."""
        reply = self._call(f"stats-tube {tube}")
        if reply[:1] == ["NOT_FOUND"]:
            return {}
        if reply[:1] != ["OK"]:
            raise BeanstalkError(" ".join(reply))
        stats: dict[str, str] = {}
        for raw in self._body(int(reply[1])).decode().splitlines():
            key, sep, value = raw.partition(":")
            if sep and not key.startswith("---"):
                stats[key.strip()] = value.strip()
        return stats


class QueueStats:
    """The tube's backlog as Prometheus gauges, read from beanstalkd once a second.

    A background thread rather than a read at scrape time, so that a scrape never waits
    for a queue that does not answer; `orders_queue_up` says whether the last read worked.
    """

    STATES = ("ready", "reserved", "delayed", "buried")

    def __init__(self, host: str, port: int, tube: str, registry, interval_s: float = 1.0) -> None:
        from prometheus_client import Gauge

        self.host, self.port, self.tube, self.interval_s = host, port, tube, interval_s
        self.jobs = Gauge(
            "orders_queue_jobs", "Jobs in the orders tube, by state", ["state"], registry=registry
        )
        self.up = Gauge(
            "orders_queue_up", "1 if the last read of the queue's stats worked", registry=registry
        )
        self.read_at = Gauge(
            "orders_queue_stats_timestamp_seconds",
            "When the queue's stats were last read",
            registry=registry,
        )
        for state in self.STATES:
            self.jobs.labels(state).set(0)

    def start(self) -> None:
        threading.Thread(target=self._run, name="queue-stats", daemon=True).start()

    def _run(self) -> None:
        while True:
            started = time.monotonic()
            try:
                with Beanstalk(self.host, self.port, timeout=0.5) as q:
                    stats = q.stats_tube(self.tube)
                for state in self.STATES:
                    self.jobs.labels(state).set(int(stats.get(f"current-jobs-{state}", 0)))
                self.up.set(1)
                self.read_at.set_to_current_time()
            except (OSError, BeanstalkError, ValueError):
                # Unknown is not zero: the backlog series go away until the queue answers.
                self.jobs.clear()
                self.up.set(0)
            time.sleep(max(0.0, self.interval_s - (time.monotonic() - started)))
