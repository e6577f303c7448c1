"""Starting the server: where its API may listen, and what a bad start says."""

from __future__ import annotations

import asyncio
import logging

import pytest

from gameday.proxy import ConfigError, run_server


def test_the_api_stays_on_loopback_unless_allowed() -> None:
    async def start() -> None:
        await run_server("0.0.0.0", 0)

    with pytest.raises(ConfigError, match=r"API address '0.0.0.0:0'.*--allow-remote"):
        asyncio.run(start())


def test_allow_remote_is_warned(caplog: pytest.LogCaptureFixture) -> None:
    async def start_and_stop() -> str:
        server = await run_server("0.0.0.0", 0, allow_remote=True)
        await server.stop()
        return server.api_host

    with caplog.at_level(logging.WARNING, logger="gameday.proxy"):
        assert asyncio.run(start_and_stop()) == "0.0.0.0"
    assert "anyone who reaches it can change the proxies" in caplog.text
