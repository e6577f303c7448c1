"""The proxies config file given at start-up (``--config``): what Toxiproxy's ``-config``
takes, a JSON list of ``{"name", "listen", "upstream", "enabled"}``.

Whatever is wrong with the file is one ``ConfigError`` naming the file and what was
expected, never a traceback: the server is started by hand or by a compose file, and the
one line it prints before exiting is all its operator sees.
"""

from __future__ import annotations

import json
from pathlib import Path

from .addresses import Policy
from .errors import ApiError, ConfigError
from .specs import ProxySpec, parse_proxy_specs

__all__ = ["MAX_CONFIG_BYTES", "load_config"]

# Far more than max_proxies proxies take; bounds a mistaken path such as /dev/zero.
MAX_CONFIG_BYTES = 16 << 20
EXPECTED = 'a JSON list of proxies, each {"name", "listen", "upstream", "enabled"}'


def load_config(path: Path, policy: Policy) -> list[ProxySpec]:
    """The proxies of the config file at ``path``, checked as a populate body is."""
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"proxies config {path}: cannot read it: {exc.strerror or exc}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"proxies config {path}: larger than {MAX_CONFIG_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"proxies config {path}: not UTF-8 text (byte {exc.start}); expected {EXPECTED}"
        ) from None
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"proxies config {path}: invalid JSON at line {exc.lineno} column {exc.colno} "
            f"({exc.msg}); expected {EXPECTED}"
        ) from None
    except (ValueError, RecursionError) as exc:  # a number too long, nesting too deep
        raise ConfigError(
            f"proxies config {path}: invalid JSON ({exc}); expected {EXPECTED}"
        ) from None
    if not isinstance(body, list):
        raise ConfigError(f"proxies config {path}: expected {EXPECTED}; got {_kind(body)}")
    try:
        return parse_proxy_specs(body, single=False, policy=policy)
    except ApiError as exc:
        raise ConfigError(f"proxies config {path}: {exc.message}") from None


def _kind(value: object) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"
