"""One proxied TCP connection: a client socket, an upstream socket and two links between
them (upstream: client -> server, downstream: server -> client).

The data path is asyncio Protocols, not streams. A link with no active toxic writes what
it reads straight into the other transport (the fast path: one recv_into, one send, no
copy). A link with toxics runs a pipeline: one task per toxic, chained by queues, ending in
the link's sink. When toxics change while data flows, the pipeline is taken apart, what
its stubs and queues hold is collected oldest first, and fed to the new pipeline (or
written out directly), so data is never lost or reordered by a change.

Back-pressure: the source socket stops being read while the destination transport is
above its high-water mark, or while the pipeline holds more than ``PIPELINE_HIGH_BYTES``.

Before a connection is linked (the upstream socket is still being dialled), a socket may
already deliver data or EOF: the client often speaks first, and a server may greet as soon
as it accepts. A ``Side`` keeps what arrives then and stops reading after that first read;
``Connection.connected`` passes it on once the links exist. The proxy never pauses a
transport from ``connection_made``: before CPython 3.11.4 (gh-103607; Debian bookworm
ships 3.11.2) the selector loop starts reading right after ``connection_made`` anyway, and
the pause is silently undone. Pausing from ``buffer_updated`` works on every loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import struct
from collections.abc import Callable, Iterable
from typing import Any

from .toxics.base import Chunk, Marker, Stub
from .toxics.wrapper import Direction, Toxic

__all__ = ["Connection", "Link", "Side"]

log = logging.getLogger(__name__)

READ_BUFFER_BYTES = 256 * 1024
WRITE_HIGH_BYTES = 1024 * 1024
PIPELINE_HIGH_BYTES = 1024 * 1024
PIPELINE_LOW_BYTES = 256 * 1024
UNLINKED = "not linked yet"  # the pause reason while a socket has no link to feed


class Side(asyncio.BufferedProtocol):
    """The protocol of one socket of a connection (the client's or the upstream's)."""

    def __init__(self, on_made: Callable[[Side], None] | None = None) -> None:
        self._on_made = on_made
        self.transport: asyncio.Transport | None = None
        self.connection: Connection | None = None
        self.reading_from: Link | None = None  # the link whose source this socket is
        self.writing_to: Link | None = None  # the link whose destination this socket is
        self._buffer = bytearray(READ_BUFFER_BYTES)
        self._view = memoryview(self._buffer)
        self._pause_reasons: set[str] = set()
        self._early: list[bytes] = []  # read before this socket was linked, oldest first
        self._early_eof = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.set_write_buffer_limits(high=WRITE_HIGH_BYTES)
        if self._on_made is not None:
            self._on_made(self)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._view

    def buffer_updated(self, nbytes: int) -> None:
        link = self.reading_from
        if link is not None:
            link.feed(self._view[:nbytes])
        else:
            # Not linked yet: keep a copy, and read no more until the link exists.
            self._early.append(bytes(self._view[:nbytes]))
            self.hold_reading(UNLINKED)

    def feed_early(self) -> None:
        """Pass on what arrived before this socket was linked, then read on."""
        link = self.reading_from
        assert link is not None
        early, self._early = self._early, []
        for data in early:
            link.feed(memoryview(data))
        if self._early_eof:
            self._early_eof = False
            link.feed_end(Marker.EOF)
        self.release_reading(UNLINKED)

    def renew_buffer(self) -> None:
        # A transport that could not send everything at once may keep a view of what we
        # gave it (Python 3.12+ does); never overwrite bytes it still holds.
        self._buffer = bytearray(READ_BUFFER_BYTES)
        self._view = memoryview(self._buffer)

    def eof_received(self) -> bool:
        if self.reading_from is not None:
            self.reading_from.feed_end(Marker.EOF)
        else:
            self._early_eof = True
        return True  # keep the socket open to write the other direction's data

    def connection_lost(self, exc: Exception | None) -> None:
        if self.connection is not None:
            self.connection.side_lost(self)

    def pause_writing(self) -> None:
        if self.writing_to is not None:
            self.writing_to.source.hold_reading("destination full")

    def resume_writing(self) -> None:
        if self.writing_to is not None:
            self.writing_to.source.release_reading("destination full")

    def hold_reading(self, reason: str) -> None:
        transport = self.transport
        if not self._pause_reasons and transport is not None and not transport.is_closing():
            transport.pause_reading()
        self._pause_reasons.add(reason)

    def release_reading(self, reason: str) -> None:
        if reason not in self._pause_reasons:
            return
        self._pause_reasons.discard(reason)
        transport = self.transport
        if not self._pause_reasons and transport is not None and not transport.is_closing():
            transport.resume_reading()

    def write(self, data: bytes | memoryview) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def write_eof(self) -> None:
        transport = self.transport
        if transport is not None and not transport.is_closing() and transport.can_write_eof():
            # OSError (ENOTCONN): the peer reset the socket before asyncio noticed, as a client
            # that gave up under latency does; there is nothing left to end. Raised here, it
            # would fail the API call (a reset, a toxic removed) that released the EOF.
            with contextlib.suppress(OSError):
                transport.write_eof()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def reset(self) -> None:
        """Close with an RST rather than a FIN: linger on, with a zero timeout."""
        if self.transport is None:
            return
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            # OSError: already closed by the peer, there is nothing left to reset.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()


class Pipeline:
    """The toxics active on one link, each a task between two queues."""

    def __init__(
        self,
        stages: list[tuple[Toxic, Any]],
        sink: Link,
        leftovers: Iterable[Chunk],
        rng: random.Random,
    ) -> None:
        loop = asyncio.get_running_loop()
        self.queues: list[asyncio.Queue[Chunk]] = [asyncio.Queue() for _ in stages]
        outlets: list[Any] = [*self.queues[1:], sink]
        self.stubs = [Stub(q, out, rng) for q, out in zip(self.queues, outlets, strict=True)]
        for chunk in leftovers:
            self.queues[0].put_nowait(chunk)
        self.tasks: list[asyncio.Task[None]] = [
            loop.create_task(toxic.kind.run(stub, toxic.settings, state))
            for (toxic, state), stub in zip(stages, self.stubs, strict=True)
        ]
        for task in self.tasks:
            task.add_done_callback(sink.stage_done)

    def feed(self, chunk: Chunk) -> None:
        self.queues[0].put_nowait(chunk)

    def dismantle(self) -> list[Chunk]:
        """Stop every toxic and return what the pipeline holds, oldest first.

        A cancelled task is resumed only with CancelledError at the await it waits on, so
        the stubs' ``held`` and the queues are final as soon as cancel() returns.
        """
        for task in self.tasks:
            task.cancel()
        leftovers: list[Chunk] = []
        # The last stage holds the oldest data; each queue is older than the stage feeding it.
        for stub, queue in zip(reversed(self.stubs), reversed(self.queues), strict=True):
            if stub.held is not None:
                leftovers.append(stub.held)
                stub.held = None
            while not queue.empty():
                leftovers.append(queue.get_nowait())
        return leftovers


class Link:
    """One direction of a connection: reads ``source``, writes ``destination``."""

    def __init__(
        self, connection: Connection, direction: Direction, source: Side, destination: Side
    ) -> None:
        self.connection = connection
        self.direction = direction
        self.source = source
        self.destination = destination
        self.pipeline: Pipeline | None = None
        self.in_flight_bytes = 0
        self.ended = False
        self._rolls: dict[int, bool] = {}  # toxic serial -> active on this link
        self._states: dict[int, Any] = {}  # toxic serial -> per-link state
        source.reading_from = self
        destination.writing_to = self

    def apply(self, chain: list[Toxic], rng: random.Random) -> None:
        """Run the toxics of ``chain`` that are active here, keeping data in flight."""
        stages: list[tuple[Toxic, Any]] = []
        for toxic in chain:
            if toxic.serial not in self._rolls:
                # Toxiproxy rolls toxicity once per link (and again when a toxic changes).
                self._rolls[toxic.serial] = rng.random() < toxic.toxicity
                self._states.setdefault(toxic.serial, toxic.kind.new_state())
            if self._rolls[toxic.serial]:
                stages.append((toxic, self._states[toxic.serial]))
        leftovers = self.pipeline.dismantle() if self.pipeline is not None else []
        self.pipeline = None
        if stages:
            self.pipeline = Pipeline(stages, self, leftovers, rng)
        else:
            for chunk in leftovers:
                self.put_nowait(chunk)

    def forget(self, serial: int, *, keep_state: bool) -> None:
        """A toxic changed (re-roll its toxicity) or went away (drop its state too)."""
        self._rolls.pop(serial, None)
        if not keep_state:
            self._states.pop(serial, None)

    def feed(self, data: memoryview) -> None:
        if self.pipeline is None:
            destination = self.destination
            destination.write(data)
            transport = destination.transport
            if transport is not None and transport.get_write_buffer_size():
                self.source.renew_buffer()
            return
        self.in_flight_bytes += len(data)
        self.pipeline.feed(Chunk(bytes(data), asyncio.get_running_loop().time()))
        if self.in_flight_bytes > PIPELINE_HIGH_BYTES:
            self.source.hold_reading("pipeline full")

    def feed_end(self, marker: Marker) -> None:
        if self.pipeline is None:
            self.put_nowait(Chunk(b"", 0.0, marker))
        else:
            self.pipeline.feed(Chunk(b"", asyncio.get_running_loop().time(), marker))

    def put_nowait(self, chunk: Chunk) -> None:
        """The sink of the pipeline: what leaves the last toxic goes to the destination."""
        if chunk.is_data:
            self.destination.write(chunk.data)
            if self.pipeline is not None:
                self.in_flight_bytes -= len(chunk.data)
                if self.in_flight_bytes < PIPELINE_LOW_BYTES:
                    self.source.release_reading("pipeline full")
        elif chunk.marker is Marker.EOF:
            self.destination.write_eof()
            self.ended = True
            self.connection.link_ended()
        elif chunk.marker is Marker.CLOSE:
            self.connection.close()
        else:
            self.connection.reset()

    def stage_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error(
                "toxic failed on %s; closing the connection", self.direction.value, exc_info=exc
            )
            self.connection.close()

    def stop(self) -> None:
        if self.pipeline is not None:
            self.pipeline.dismantle()
            self.pipeline = None


class Connection:
    """A client connection and the upstream connection opened for it."""

    def __init__(self, client: Side, on_closed: Callable[[Connection], None]) -> None:
        self.client = client
        self.upstream: Side | None = None
        self.links: dict[Direction, Link] = {}
        self.closed = False
        self._on_closed = on_closed
        client.connection = self
        # No hold_reading here (this runs inside connection_made): see the module docstring.

    def connected(
        self, upstream: Side, chains: dict[Direction, list[Toxic]], rng: random.Random
    ) -> None:
        """The upstream socket is open: link both ways and let the client's data flow."""
        self.upstream = upstream
        upstream.connection = self
        self.links = {
            Direction.UPSTREAM: Link(self, Direction.UPSTREAM, self.client, upstream),
            Direction.DOWNSTREAM: Link(self, Direction.DOWNSTREAM, upstream, self.client),
        }
        for direction, link in self.links.items():
            link.apply(chains[direction], rng)
        for link in self.links.values():
            if self.closed:
                break  # an early EOF from both sides, or a toxic, ended the connection
            link.source.feed_early()

    def link_ended(self) -> None:
        if self.links and all(link.ended for link in self.links.values()):
            self.close()

    def side_lost(self, side: Side) -> None:
        # The socket closed under us (peer reset, or error): end the whole connection.
        self.close()

    def close(self) -> None:
        self._finish(Side.close)

    def reset(self) -> None:
        self._finish(Side.reset)

    def _finish(self, how: Callable[[Side], None]) -> None:
        if self.closed:
            return
        self.closed = True
        for link in self.links.values():
            link.stop()
        how(self.client)
        if self.upstream is not None:
            how(self.upstream)
        self._on_closed(self)
