"""The guard of the API's connections: a deadline while a connection waits for a request,
and a limit where the connection idle the longest makes room."""

from __future__ import annotations

import asyncio

from gameday.proxy.guard import ConnectionGuard

TIMEOUT_S = 0.05


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.aborted = False

    def abort(self) -> None:
        self.aborted = True


def test_a_connection_that_sends_nothing_is_aborted_at_its_deadline() -> None:
    async def scenario() -> FakeTransport:
        guard = ConnectionGuard(limit=4, idle_timeout_s=TIMEOUT_S)
        transport = FakeTransport()
        guard.opened("a", transport)
        await asyncio.sleep(TIMEOUT_S * 3)
        assert guard.open_count == 0
        return transport

    assert asyncio.run(scenario()).aborted


def test_a_request_in_progress_has_no_deadline_and_the_next_one_has_a_new_one() -> None:
    async def scenario() -> None:
        guard = ConnectionGuard(limit=4, idle_timeout_s=TIMEOUT_S)
        transport = FakeTransport()
        guard.opened("a", transport)
        guard.request_started("a")
        await asyncio.sleep(TIMEOUT_S * 3)  # a slow handler is not the client's doing
        assert not transport.aborted
        guard.request_ended("a")
        await asyncio.sleep(TIMEOUT_S / 2)
        assert not transport.aborted
        await asyncio.sleep(TIMEOUT_S * 3)
        assert transport.aborted

    asyncio.run(scenario())


def test_at_the_limit_the_longest_idle_makes_room() -> None:
    async def scenario() -> None:
        guard = ConnectionGuard(limit=2, idle_timeout_s=10)
        first, second, third = FakeTransport(), FakeTransport(), FakeTransport()
        guard.opened("first", first)
        guard.opened("second", second)
        guard.request_started("first")  # busy: not a candidate
        guard.opened("third", third)
        assert second.aborted and not first.aborted and not third.aborted
        assert guard.open_count == 2
        guard.closed("second")  # its connection_lost, later: nothing left to do
        guard.close()

    asyncio.run(scenario())


def test_at_the_limit_with_every_connection_busy_the_new_one_is_refused() -> None:
    async def scenario() -> None:
        guard = ConnectionGuard(limit=1, idle_timeout_s=10)
        busy, new = FakeTransport(), FakeTransport()
        guard.opened("busy", busy)
        guard.request_started("busy")
        guard.opened("new", new)
        assert new.aborted and not busy.aborted
        guard.request_started("new")  # aiohttp may still parse what it had: ignored
        guard.request_ended("new")
        assert guard.open_count == 1
        guard.close()

    asyncio.run(scenario())
