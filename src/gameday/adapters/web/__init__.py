"""The game-day console: the live drill in a browser for everybody in the room.

A thin adapter over the human responder (``responders/human.py``): ``console.py`` keeps who
joined and turns their clicks into the responder's actions; ``server.py`` serves the page
(Starlette, uvicorn, server-sent events). Needs the ``[web]`` extra.
"""

from gameday.adapters.web.console import ROLES, Console, ConsoleRefusal, Participant
from gameday.adapters.web.server import ConsoleServer, console_app

__all__ = ["ROLES", "Console", "ConsoleRefusal", "ConsoleServer", "Participant", "console_app"]
