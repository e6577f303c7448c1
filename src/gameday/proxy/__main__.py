"""``python -m gameday.proxy [--host 127.0.0.1] [--port 8474] [--config proxies.json]
[--allow-remote] [--allow-public-upstreams]``.

The config file is what Toxiproxy's ``-config`` takes: a JSON list of
``{"name", "listen", "upstream", "enabled"}``. The API and the proxies listen on loopback
unless ``--allow-remote`` says otherwise (in a container, where 0.0.0.0 is the address).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import StartupError
from .server import LOG_LEVELS, configure_logging, serve

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gameday.proxy",
        description="A TCP proxy for network faults that speaks Toxiproxy's HTTP API.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address of the HTTP API")
    parser.add_argument("--port", type=int, default=8474, help="port of the HTTP API")
    parser.add_argument("--config", type=Path, help="JSON list of proxies to create at start")
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="let the API and the proxies listen beyond loopback (e.g. 0.0.0.0)",
    )
    parser.add_argument(
        "--allow-public-upstreams",
        action="store_true",
        help="let proxies forward to public addresses, not only to names and local ones",
    )
    parser.add_argument("--log-level", type=str.upper, choices=LOG_LEVELS, default="INFO")
    args = parser.parse_args(argv)
    configure_logging(args.log_level)
    try:
        serve(
            args.host,
            args.port,
            args.config,
            allow_remote=args.allow_remote,
            allow_public_upstreams=args.allow_public_upstreams,
        )
    except StartupError as exc:
        # One line and the exit code of gameday's own errors: 2 bad input, 3 the machine.
        print(f"gameday proxy: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:  # before the signal handlers are in place
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
