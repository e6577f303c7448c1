"""Ending a socket whose peer is already gone is no error."""

from __future__ import annotations

import asyncio
import errno

from gameday.proxy.link import Side


class VanishedPeerTransport(asyncio.Transport):
    """A transport whose peer reset the connection: shutdown(SHUT_WR) fails as the kernel's."""

    def __init__(self) -> None:
        super().__init__()
        self.eof_attempts = 0

    def is_closing(self) -> bool:
        return False

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.eof_attempts += 1
        raise OSError(errno.ENOTCONN, "Transport endpoint is not connected")


def test_write_eof_to_a_peer_that_reset_is_swallowed() -> None:
    # Seen in a latency drill: clients gave up under 1 s of latency, and the
    # reset that removed the toxic handed their held EOFs to sockets no longer connected.
    side = Side()
    transport = VanishedPeerTransport()
    side.transport = transport
    side.write_eof()
    assert transport.eof_attempts == 1
