"""Names of proxies and toxics. A name is a path segment of the API
(``/proxies/{proxy}/toxics/{toxic}``) and a key of its JSON, so it must fit in one: at most
255 printable characters and no slash (a name with a slash could never be addressed).
"""

from __future__ import annotations

from .errors import invalid_name

__all__ = ["MAX_NAME_LENGTH", "check_name"]

MAX_NAME_LENGTH = 255


def check_name(what: str, name: str) -> str:
    """``name`` if it is a usable name of a ``what`` ("proxy", "toxic"); else a 400."""
    if len(name) > MAX_NAME_LENGTH:
        raise invalid_name(what, name, f"is longer than {MAX_NAME_LENGTH} characters")
    if not name.isprintable():
        raise invalid_name(what, name, "has a control or other unprintable character")
    if "/" in name:
        raise invalid_name(what, name, "has a slash, which no API path could address")
    return name
