"""The report's Jinja environments, its number and time formats, and safe file writing.

HTML templates always autoescape: whatever a run recorded (log lines, notes, labels) is
shown as text. Markdown templates are escaped the same way: every ``{{ value }}`` goes
through :func:`md_text` (HTML and Markdown metacharacters escaped, so no tag, emphasis or
link can come from a run) unless it is :class:`Markdown` already, as the ``md`` and
``code`` filters' results are.
"""

from __future__ import annotations

import contextlib
import html
import os
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import jinja2

from gameday.stages.report.model import ReportError
from gameday.units import range_text

__all__ = [
    "TODO",
    "Markdown",
    "environment",
    "format_ms",
    "format_percent",
    "format_seconds",
    "markdown_environment",
    "md_code",
    "md_text",
    "write_atomically",
]

TEMPLATES = Path(__file__).parent / "templates"
MISSING = "—"


def format_seconds(value: float | None) -> str:
    """4.2 s, 74 s, 3 min 20 s; a dash for a time that was never measured."""
    if value is None:
        return MISSING
    if value < 10:
        return f"{value:.1f} s"
    if value < 120:
        return f"{value:.0f} s"
    minutes, seconds = divmod(round(value), 60)
    if minutes < 120:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours >= 48 and not minutes:
        days, hours = divmod(hours, 24)
        return f"{days} days" if not hours else f"{days} days {hours} h"
    return f"{hours} h {minutes} min"


def format_ms(value: float | None) -> str:
    return MISSING if value is None else f"{value:,.0f} ms"


def format_percent(value: float | None, digits: int = 1) -> str:
    return MISSING if value is None else f"{value * 100:.{digits}f}%"


def format_count(value: int | None) -> str:
    return MISSING if value is None else f"{value:,}"


def format_clock(value: datetime | None) -> str:
    return MISSING if value is None else value.astimezone(UTC).strftime("%H:%M:%S")


def format_when(value: datetime | None) -> str:
    return MISSING if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


class Markdown(str):
    """Text that is Markdown already (escaped by a filter, or the template's own): the
    Markdown environment prints it as it is, like markupsafe's Markup in HTML."""


# Every character that can start emphasis, code, a link or image ([...](...), [...][...]),
# strikethrough, a table cell or a heading, or escape one of them. With < and > made
# entities (no autolink, no raw HTML) and [ ] escaped, no link syntax survives.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]~|#])")

TODO = Markdown("**[FILL IN]**")  # what the journal cannot know, for the people to write


def md_text(value: object) -> Markdown:
    """A run's text as Markdown prose: on one line, shown as the text it is.

    HTML is escaped into entities and Markdown's metacharacters get a backslash, so a
    note ``[x](javascript:...)`` reads as that, not as a link."""
    text = html.escape(" ".join(str(value).split()), quote=False)
    return Markdown(_MD_SPECIAL.sub(r"\\\1", text))


def md_code(value: object) -> Markdown:
    """A run's text as an inline code span, with a fence longer than any backtick run."""
    text = " ".join(str(value).split())
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return Markdown(f"{fence}{pad}{text}{pad}{fence}")


def _md_finalize(value: object) -> object:
    """Escape what a Markdown template prints, unless it is Markdown already."""
    return value if isinstance(value, Markdown) else md_text(value)


def format_range(pair: Sequence[float] | None) -> str:
    """1.5 to 2.0 min: a least-to-most range in one unit."""
    return MISSING if pair is None else range_text(pair[0], pair[1])


_FILTERS = {
    "seconds": format_seconds,
    "range": format_range,
    "ms": format_ms,
    "percent": format_percent,
    "count": format_count,
    "clock": format_clock,
    "when": format_when,
}


@cache
def environment() -> jinja2.Environment:
    """The HTML environment: autoescape on for every template, undefined names are errors."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(_FILTERS)
    return env


@cache
def markdown_environment() -> jinja2.Environment:
    """The Markdown environment: every printed value escaped (see :func:`_md_finalize`),
    ``todo`` the mark of what people fill in, undefined names are errors."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=False,
        finalize=_md_finalize,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(_FILTERS, md=md_text, code=md_code)
    env.globals["todo"] = TODO
    return env


def write_atomically(path: Path, text: str) -> None:
    """Write ``path`` so that a reader never sees half a file.

    A folder that cannot be written (permissions, a full disk, a directory in the file's
    place) is a :class:`~gameday.stages.report.model.ReportError` naming the file, and leaves no
    temporary file behind.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise ReportError(f"{path}: cannot write the report ({exc.strerror or exc})") from exc
