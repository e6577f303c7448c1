"""A team's incident playbook, read from its Markdown.

gameday reads a playbook for its structure, not its prose (docs/project.md, "The
playbook"): a heading with an ``**Alert**:`` line is a :class:`Section` that handles the
backticked alerts on that line; its parent heading is the section's group; the numbered
list after ``**Immediate Actions**:`` and the commands of its code blocks are what human
responders are shown; the list under a ``Drill Scenarios`` heading is the playbook's drills.
Every ``##`` and ``###`` heading outside fenced code is a :class:`Procedure`: what the
coverage page accounts for, in the playbook's order.

:func:`parse_playbook` returns a :class:`Playbook` or raises a
:class:`~gameday.errors.PlaybookError` naming the file and the line.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from gameday.errors import PlaybookError
from gameday.inputs.yamldoc import read_text

__all__ = ["Playbook", "Procedure", "Section", "load_playbook", "normal_name", "parse_playbook"]

MAX_PLAYBOOK_BYTES = 2 * 1024 * 1024

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_ALERT_LINE = re.compile(r"^\s*\*\*Alerts?\*\*\s*:\s*(.*)$", re.IGNORECASE)
_FIELD_LINE = re.compile(r"^\s*\*\*(Severity|Teams?)\*\*\s*:\s*(.*)$", re.IGNORECASE)
_LABEL_LINE = re.compile(r"^\s*\*\*(.+?)\*\*\s*:\s*$")
_NUMBERED = re.compile(r"^\s*\d+[.)]\s+(.*)$")
_BULLET = re.compile(r"^\s*(?:\d+[.)]|[-*+])\s+(.*)$")
_BACKTICKED = re.compile(r"`([^`]+)`")
_NUMBER_PREFIX = re.compile(r"^\d+(?:\.\d+)*[.)]?\s+")
_FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass(frozen=True)
class Section:
    """One part of the playbook that handles alerts."""

    title: str  # the heading with the **Alert** line ("Database Connection Issues")
    group: str  # its parent heading ("Database Outages"), or the title itself
    alerts: tuple[str, ...]
    line: int
    severity: str = ""
    teams: str = ""
    immediate_actions: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()  # as the playbook writes them, comments included

    def names(self) -> tuple[str, ...]:
        """The names a scenario may use for this section."""
        return tuple(dict.fromkeys((self.group, self.title)))


@dataclass(frozen=True)
class Procedure:
    """A ``##`` or ``###`` heading: a part of the playbook that a scenario, a clock or a
    note of the project may account for."""

    title: str  # as written, numbering included ("1. Complete Service Outage")
    line: int
    level: int  # 2 or 3
    parent: str | None = None  # the ``##`` heading a ``###`` is under
    lists_drills: bool = False  # the heading whose list is the playbook's drills

    @property
    def key(self) -> str:
        """The title as names are matched: case and numbering aside."""
        return normal_name(self.title)


@dataclass(frozen=True)
class Playbook:
    """The parts of a playbook that drills refer to."""

    path: Path
    sections: tuple[Section, ...]
    drills: tuple[str, ...]
    alert_lines: dict[str, int]  # alert -> the line that first names it
    procedures: tuple[Procedure, ...] = ()  # in the playbook's order

    @property
    def alerts(self) -> tuple[str, ...]:
        return tuple(self.alert_lines)

    def section(self, name: str) -> Section | None:
        """The section a scenario's ``playbook.section`` names (case and numbering aside)."""
        wanted = normal_name(name)
        for section in self.sections:
            if wanted in (normal_name(n) for n in section.names()):
                return section
        return None

    def section_for(self, name: str, alerts: Iterable[str] = ()) -> Section | None:
        """The named section, else the first that handles one of ``alerts``."""
        found = self.section(name)
        if found is not None:
            return found
        wanted = set(alerts)
        return next((s for s in self.sections if wanted & set(s.alerts)), None)

    def has_drill(self, name: str) -> bool:
        return normal_name(name) in (normal_name(d) for d in self.drills)

    def section_names(self) -> list[str]:
        return list(dict.fromkeys(n for s in self.sections for n in s.names()))

    def procedures_named(self, name: str) -> tuple[Procedure, ...]:
        """The procedures with this title (case and numbering aside): more than one when
        headings share it."""
        wanted = normal_name(name)
        return tuple(p for p in self.procedures if p.key == wanted)

    def procedure_hint(self, name: str) -> str:
        """What ``name`` might have meant, for an error message: the closest headings of
        a long playbook, else all of them."""
        titles = {p.key: p.title for p in reversed(self.procedures)}
        wanted = normal_name(name)
        close = [t for k, t in titles.items() if wanted and (wanted in k or k in wanted)]
        close += [titles[k] for k in difflib.get_close_matches(wanted, titles, n=3, cutoff=0.6)]
        shown = [p.title for p in self.procedures if p.title in close]
        if len(titles) > 12 and shown:
            return f"the closest: {', '.join(dict.fromkeys(shown))}; {len(titles)} in all"
        return ", ".join(dict.fromkeys(p.title for p in self.procedures)) or "it has none"

    def parent_of(self, procedure: Procedure) -> Procedure | None:
        """The ``##`` procedure a ``###`` one is under."""
        if procedure.parent is None:
            return None
        index = self.procedures.index(procedure)
        return next(
            (p for p in reversed(self.procedures[:index]) if p.level < procedure.level), None
        )


def normal_name(text: str) -> str:
    """A name as the playbook's names are matched: case, spacing and numbering aside."""
    return " ".join(_NUMBER_PREFIX.sub("", text.strip()).lower().split())


def _plain(text: str) -> str:
    """Markdown inline text without emphasis, links' targets or stray quotes."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = text.replace("**", "").replace("__", "").replace("`", "")
    return text.strip().strip("\"'“”").strip()


def _bare(title: str) -> str:
    """A heading without its numbering ("2. Database Outages" -> "Database Outages")."""
    return _NUMBER_PREFIX.sub("", title).strip()


def load_playbook(path: Path) -> Playbook:
    """Read and parse a playbook file; raises PlaybookError."""
    too_big = "the playbook is over 2 MiB; expected a Markdown document"
    text = read_text(path, PlaybookError, "playbook", MAX_PLAYBOOK_BYTES, too_big)
    return parse_playbook(text, path)


@dataclass
class _Open:
    """A section being read."""

    title: str
    group: str
    alerts: tuple[str, ...]
    line: int
    level: int
    severity: str = ""
    teams: str = ""
    actions: list[str] | None = None
    commands: list[str] | None = None
    in_actions: bool = False

    def close(self) -> Section:
        return Section(
            title=self.title,
            group=self.group,
            alerts=self.alerts,
            line=self.line,
            severity=self.severity,
            teams=self.teams,
            immediate_actions=tuple(self.actions or ()),
            commands=tuple(self.commands or ()),
        )


def parse_playbook(text: str, path: Path) -> Playbook:
    """The sections, alerts and drills of a Markdown playbook."""
    headings: list[tuple[int, str]] = []  # the open heading at each level
    sections: list[Section] = []
    drills: list[str] = []
    alert_lines: dict[str, int] = {}
    procedures: list[Procedure] = []
    current: _Open | None = None
    heading_line = 0
    in_drills = False
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if fence is not None:
            if line.strip().startswith(fence):
                fence = None
            elif current is not None and current.commands is not None and line.strip():
                current.commands.append(line.strip())
            continue
        fenced = _FENCE.match(line)
        if fenced:
            fence = fenced.group(1)
            if current is not None and current.commands is None:
                current.commands = []
            continue
        heading = _HEADING.match(line)
        if heading:
            level, title = len(heading.group(1)), _plain(heading.group(2))
            if current is not None and level <= current.level:
                sections.append(current.close())
                current = None
            headings = [(lvl, t) for lvl, t in headings if lvl < level] + [(level, title)]
            heading_line = number
            in_drills = normal_name(title) == "drill scenarios"
            if level in (2, 3) and title:
                parent = next((t for lvl, t in headings if lvl == 2), None) if level == 3 else None
                procedures.append(Procedure(title, number, level, parent, in_drills))
            continue
        alert = _ALERT_LINE.match(line)
        if alert:
            names = tuple(name.strip() for name in _BACKTICKED.findall(alert.group(1)))
            if not names or not all(re.fullmatch(r"[A-Za-z_:][A-Za-z0-9_:]*", n) for n in names):
                raise PlaybookError(
                    f"{path}:{number}: expected alert names in backticks after **Alert**: "
                    f"(like **Alert**: `ApiDown`), got {alert.group(1).strip()[:60]!r}"
                )
            if not headings:
                raise PlaybookError(
                    f"{path}:{number}: an **Alert**: line must be under a heading that names "
                    "its section"
                )
            if current is not None:
                sections.append(current.close())
            level, title = headings[-1]
            group = headings[-2][1] if len(headings) > 1 and headings[-2][0] > 1 else title
            current = _Open(_bare(title), _bare(group), names, heading_line, level)
            for name in names:
                alert_lines.setdefault(name, number)
            continue
        if current is not None:
            _section_line(current, line)
        if in_drills:
            item = _BULLET.match(line)
            if item and _plain(item.group(1)):
                drills.append(_plain(item.group(1)))
    if current is not None:
        sections.append(current.close())
    if not sections:
        raise PlaybookError(
            f"{path}:1: expected at least one section: a heading followed by an "
            "**Alert**: line that names its alerts in backticks"
        )
    return Playbook(
        path, tuple(sections), tuple(dict.fromkeys(drills)), alert_lines, tuple(procedures)
    )


def _section_line(current: _Open, line: str) -> None:
    field = _FIELD_LINE.match(line)
    if field:
        value = _plain(field.group(2))
        if field.group(1).lower().startswith("sev"):
            current.severity = value
        else:
            current.teams = value
        current.in_actions = False
        return
    label = _LABEL_LINE.match(line)
    if label:
        current.in_actions = "immediate" in label.group(1).lower()
        if current.in_actions:
            current.actions = []
        return
    if current.in_actions and current.actions is not None:
        item = _NUMBERED.match(line)
        if item:
            current.actions.append(_plain(item.group(1)))
        elif line.strip() and not line.startswith((" ", "\t")):
            current.in_actions = False
