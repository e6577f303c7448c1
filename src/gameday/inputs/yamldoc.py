"""A hardened reader for the YAML files people write for gameday (scenarios, the project
file), with errors that name the file, the line and the field.

:func:`read_document` reads a file (or :func:`parse_document` a text) into a
:class:`YamlDocument`: the document's node tree, after refusing what such a file never
needs (aliases, explicit tags, deep nesting, keys given twice, non-string keys). The
document builds the plain Python value that pydantic validates, and turns pydantic's
errors back into ``file:line: field 'a.b': expected ...`` lines.

Every failure is raised as the error class the caller names (a subclass of
:class:`~gameday.errors.InputError`); nothing else escapes.

It is long because it does one careful pass over the parser's events and words every
refusal for a person; each part is a small function.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from gameday.errors import InputError

__all__ = [
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "Location",
    "YamlDocument",
    "dotted",
    "listed",
    "parse_document",
    "read_document",
    "read_text",
    "short",
]

# A hand-written file is a page or two of YAML. The caps keep a hostile or mistaken file
# (a log pasted in, a deeply nested generated document) from costing more than a clear error.
MAX_FILE_BYTES = 1024 * 1024
MAX_DEPTH = 16
# Fields of one mapping, items of one list: a scenario's longest has tens.
MAX_ENTRIES = 1000

_STR_TAG = "tag:yaml.org,2002:str"
# libyaml's parser where PyYAML was built with it: the same events and nodes, ten times
# faster on a large file than the pure-Python one.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# A tab that indents a line, or follows a key's colon or an item's dash.
_TAB_AS_SPACE = re.compile(r"^[ ]*\t|^[ ]*(?:- +)*[^\s\"'#:][^\"'#\n]*?:\t|^[ ]*-\t", re.M)

Location = tuple[str | int, ...]
ErrorClass = type[InputError]


def read_document(path: Path, error: ErrorClass, what: str) -> YamlDocument:
    """Read and parse ``path`` (a ``what``, e.g. "scenario file"); raises ``error``."""
    text = read_text(path, error, what, MAX_FILE_BYTES, _too_big(what))
    return parse_document(text, path, error, what)


def read_text(path: Path, error: ErrorClass, what: str, max_bytes: int, too_big: str) -> str:
    """A hand-written file's UTF-8 text, at most ``max_bytes``; raises ``error`` saying
    what is wrong (not a regular file, unreadable, too big, not UTF-8: with the line)."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            # A FIFO or a device would block the read, or never end.
            raise error(f"{path}: expected a {what}, but this is not a regular file")
        with path.open("rb") as stream:
            data = stream.read(max_bytes + 1)
    except OSError as exc:
        raise error(f"{path}: cannot read the {what} ({exc.strerror or exc})") from exc
    if len(data) > max_bytes:
        raise error(f"{path}:1: {too_big}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise error(
            f"{path}:{line}: expected UTF-8 text, found the byte 0x{data[exc.start]:02x}; "
            "save the file as UTF-8"
        ) from exc


def parse_document(text: str, path: Path, error: ErrorClass, what: str) -> YamlDocument:
    """Parse YAML ``text`` that must be a mapping of fields; ``path`` names it in errors."""
    if len(text) > MAX_FILE_BYTES:
        raise error(f"{path}:1: {_too_big(what)}")
    node = _compose(text, path, error)
    if not isinstance(node, yaml.MappingNode):
        kind = "empty" if node is None else f"a {type(node).__name__[:-4].lower()}"
        raise error(f"{path}:1: expected a mapping of fields, this {what} is {kind}")
    return YamlDocument(path, node, error)


def _too_big(what: str) -> str:
    return f"the file is over {MAX_FILE_BYTES // 1024} KiB; a {what} is a page of YAML"


MAX_PROBLEMS = 50


@dataclass(frozen=True)
class YamlDocument:
    """One parsed YAML file: its path, its root mapping node and the error class to raise."""

    path: Path
    root: yaml.MappingNode
    error: ErrorClass
    # The line of every field and item, filled by ``data``: looking each error's line up
    # in the node tree instead would cost a walk per error (quadratic on a large file).
    _lines: dict[Location, int] = field(default_factory=dict, repr=False, compare=False)

    def data(self) -> dict[str, Any]:
        """The document as plain Python values (as ``yaml.safe_load`` would build them)."""
        built = _build(self.root, (), self.path, yaml.SafeLoader(""), self.error, self._lines)
        assert isinstance(built, dict)
        return built

    def line(self, where: Location) -> int:
        """The 1-based line of the deepest node on ``where`` that exists."""
        if not self._lines:
            return _line_of(self.root, where)
        found: Location = ()
        for part in where:
            if (*found, part) in self._lines:
                found = (*found, part)
            elif not isinstance(part, int):
                break
            # else: an index of a single item written without its list: no such level
        return self._lines.get(found, self.root.start_mark.line + 1)

    def message(self, where: Location, expected: str) -> str:
        """``file:line: field 'a.b': expected`` for the field at ``where``."""
        return f"{self.path}:{self.line(where)}: field '{dotted(where)}': {expected}"

    def fail(self, problems: Iterable[tuple[Location, str]]) -> None:
        """Raise one error with a line per problem, if there are any."""
        lines = [self.message(where, what) for where, what in problems]
        if lines:
            raise self.error(_capped(lines))

    def explain(
        self,
        exc: ValidationError,
        tags: Mapping[str, Sequence[str]] = {},
        tagged_lists: Iterable[str] = (),
    ) -> str:
        """pydantic's errors as one ``file:line: field ...`` line each.

        ``tags`` lists the members of each tagged union by its discriminator (for "expected
        one of ..."); ``tagged_lists`` names the lists whose items are such unions, where
        pydantic puts the chosen member's tag into the location.
        """
        lists = set(tagged_lists)
        errors = exc.errors()
        lines = [self._explain(error, tags, lists) for error in errors[:MAX_PROBLEMS]]
        return _capped(lines, len(errors))

    def _explain(
        self, error: ErrorDetails, tags: Mapping[str, Sequence[str]], lists: set[str]
    ) -> str:
        where = _without_union_tags(error["loc"], lists)
        kind, ctx, got = error["type"], error.get("ctx", {}), error.get("input")
        expected = error["msg"]
        if kind == "missing":
            expected = "required, but missing"
        elif kind == "extra_forbidden":
            expected = UNKNOWN_FIELD
        elif kind == "literal_error":
            expected = f"expected one of {ctx['expected']}, got {short(got)}"
        elif kind in ("union_tag_invalid", "union_tag_not_found"):
            discriminator = str(ctx["discriminator"]).strip("'")
            where = (*where, discriminator)
            names = ", ".join(tags.get(discriminator, []))
            found = f"got {short(ctx['tag'])}" if "tag" in ctx else "it is missing"
            expected = f"expected one of {names}; {found}"
        elif kind == "value_error":
            # Model validators name the field they judge as their message's prefix.
            field, _, rest = str(ctx.get("error", "")).partition(": ")
            if rest and _is_dotted(field):
                where, expected = (*where, *_undotted(field)), rest
            elif not isinstance(got, dict | list):
                expected = f"{ctx.get('error', expected)}, got {short(got)}"
            else:
                expected = str(ctx.get("error", expected))
        elif not isinstance(got, dict | list):
            expected = f"{expected}, got {short(got)}"
        return self.message(where, expected)


def _capped(lines: list[str], total: int | None = None) -> str:
    """At most MAX_PROBLEMS lines, and how many more there were."""
    total = len(lines) if total is None else total
    shown = lines[:MAX_PROBLEMS]
    if total > len(shown):
        shown.append(f"... and {total - len(shown)} more problems")
    return "\n".join(shown)


UNKNOWN_FIELD = "unknown field (check its spelling against the documentation)"


def _is_dotted(field: str) -> bool:
    parts = field.split(".")
    return bool(parts) and all(re.fullmatch(r"[A-Za-z0-9_-]+", p) for p in parts)


def _undotted(field: str) -> Location:
    return tuple(int(p) if p.isdigit() else p for p in field.split("."))


def dotted(where: Location) -> str:
    return ".".join(str(part) for part in where) or "(top level)"


def short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def listed(names: Iterable[str]) -> str:
    return ", ".join(sorted(names))


def _field(where: Location) -> str:
    return f"field '{dotted(where)}': " if where else ""


def _without_union_tags(location: Location, lists: set[str]) -> Location:
    # pydantic names the chosen member of a tagged union after the item's index (faults.0.
    # stop_service.service); the YAML has no such level.
    parts: list[str | int] = []
    for i, part in enumerate(location):
        after_index = i >= 2 and isinstance(location[i - 1], int)
        if after_index and location[i - 2] in lists and isinstance(part, str):
            continue
        parts.append(part)
    return tuple(parts)


# -- reading YAML --------------------------------------------------------------------------------


@dataclass
class _Level:
    """One open mapping or sequence while the parser's events stream by."""

    mapping: bool
    key: str | int = 0  # the current key of a mapping, the current index of a sequence
    at_key: bool = True  # in a mapping: the next node is a key, not a value
    count: int = 0  # the keys or items seen so far


def _compose(text: str, path: Path, error: ErrorClass) -> yaml.Node | None:
    """The document's node tree, after refusing what a hand-written file never needs:
    aliases (the billion laughs), explicit tags (``!!python/...``, ``!!int "x"``) and deep
    nesting.

    These are checked on the parser's events, before any node exists, so that a hostile
    document costs one pass; the events also tell which field an error is in. libyaml
    parses; a document it refuses is parsed again by PyYAML's own parser, whose messages
    say more (a tab, an escape past Unicode's last character, a %YAML directive).
    """
    # libyaml takes a tab after "key:" as a space where PyYAML refuses it: such a text
    # goes to PyYAML's parser, so that every machine refuses it, whichever parser it has.
    if _LOADER is not yaml.SafeLoader and not _TAB_AS_SPACE.search(text):
        try:
            return _compose_with(_LOADER, text, path, error)
        except error as exc:
            if not isinstance(exc.__cause__, yaml.YAMLError):
                raise
    return _compose_with(yaml.SafeLoader, text, path, error)


def _compose_with(
    loader_class: type[yaml.SafeLoader], text: str, path: Path, error: ErrorClass
) -> yaml.Node | None:
    levels: list[_Level] = []
    try:
        # One pass over every event: each branch does as little as it can, and the
        # location and line of an event are worked out only for the one that fails.
        for event in yaml.parse(text, Loader=loader_class):
            if isinstance(event, yaml.ScalarEvent):
                if event.tag is not None:
                    _refuse_node(event, levels, path, error)
            elif isinstance(event, yaml.CollectionStartEvent):
                if event.tag is not None:
                    _refuse_node(event, levels, path, error)
                levels.append(_Level(mapping=isinstance(event, yaml.MappingStartEvent)))
                if len(levels) > MAX_DEPTH:
                    raise error(
                        f"{path}:{_line(event)}: {_field(_location(levels[:-1]))}expected "
                        f"at most {MAX_DEPTH} levels of nesting"
                    )
                continue
            elif isinstance(event, yaml.CollectionEndEvent):
                levels.pop()
            elif isinstance(event, yaml.AliasEvent):
                _refuse_node(event, levels, path, error)
            elif isinstance(event, yaml.DocumentStartEvent):
                if event.version not in (None, (1, 1), (1, 2)):
                    major, minor = event.version
                    raise error(
                        f"{path}:{_line(event)}: expected YAML 1.1 or 1.2, found the "
                        f"directive %YAML {major}.{minor}; remove it"
                    )
                continue
            else:
                continue
            if levels:
                _node_done(levels, event)
                if levels[-1].count > MAX_ENTRIES:
                    kind = "fields" if levels[-1].mapping else "items"
                    raise error(
                        f"{path}:{_line(event)}: {_field(_location(levels[:-1]))}expected at "
                        f"most {MAX_ENTRIES} {kind} here; a hand-written file has a few"
                    )
        loader = loader_class(text)
        try:
            return loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        line = _yaml_line(exc, text)
        where = _field(_location(levels))
        raise error(f"{path}:{line}: {where}{_yaml_problem(exc)}") from exc
    except (ValueError, OverflowError) as exc:
        # PyYAML's scanner builds escapes like "\U00110000" with chr(), which refuses
        # code points past Unicode's last.
        where = _field(_location(levels))
        line = _bad_escape_line(text)
        raise error(
            f"{path}:{line}: {where}expected text, found an escape that is no Unicode "
            f"character ({exc})"
        ) from exc


def _line(event: yaml.Event) -> int:
    return event.start_mark.line + 1 if event.start_mark is not None else 1


def _refuse_node(
    event: yaml.NodeEvent, levels: list[_Level], path: Path, error: ErrorClass
) -> None:
    _check_node_event(event, _event_location(levels, event), path, _line(event), error)


def _bad_escape_line(text: str) -> int:
    """The line of the first ``\\UXXXXXXXX`` escape past Unicode's last code point."""
    for match in re.finditer(r"\\U([0-9A-Fa-f]{8})", text):
        if int(match.group(1), 16) > 0x10FFFF:
            return text.count("\n", 0, match.start()) + 1
    return 1


def _check_node_event(
    event: yaml.NodeEvent, where: Location, path: Path, line: int, error: ErrorClass
) -> None:
    if isinstance(event, yaml.AliasEvent):
        raise error(
            f"{path}:{line}: {_field(where)}expected a value, found the YAML alias "
            f"*{event.anchor}; gameday files allow no aliases, write the value out"
        )
    tag = getattr(event, "tag", None)  # set only when the file writes one
    if tag is not None:
        raise error(
            f"{path}:{line}: {_field(where)}expected a plain value, found the YAML tag "
            f"{tag.replace('tag:yaml.org,2002:', '!!')}; gameday files allow no tags "
            "(quote a string instead)"
        )


def _location(levels: list[_Level]) -> Location:
    return tuple(level.key for level in levels if not (level.mapping and level.at_key))


def _event_location(levels: list[_Level], event: yaml.NodeEvent) -> Location:
    where = _location(levels)
    if levels and levels[-1].mapping and levels[-1].at_key and isinstance(event, yaml.ScalarEvent):
        return (*where, event.value)  # the node is a key: the error is about that field
    return where


def _node_done(levels: list[_Level], event: yaml.Event) -> None:
    if not levels:
        return
    level = levels[-1]
    if not level.mapping:
        assert isinstance(level.key, int)
        level.key += 1
        level.count += 1
    elif level.at_key:
        level.key = event.value if isinstance(event, yaml.ScalarEvent) else "?"
        level.at_key = False
        level.count += 1
    else:
        level.at_key = True


def _yaml_line(exc: yaml.YAMLError, text: str) -> int:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        return mark.line + 1 if mark is not None else 1
    if isinstance(exc, yaml.reader.ReaderError):
        return text.count("\n", 0, exc.position) + 1
    return 1


def _yaml_problem(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.reader.ReaderError):
        char = exc.character  # PyYAML gives the code point for text, the byte for bytes
        shown = repr(chr(char)) if isinstance(char, int) else repr(char)
        return (
            f"expected printable text, found the control character {shown}; "
            "remove it, or write it as an escape in a double-quoted string"
        )
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if "'\\t'" in problem:
        return "expected spaces, found a tab: YAML indents and separates with spaces only"
    return f"not valid YAML: {problem}"


# The number forms of YAML 1.2's core schema. PyYAML reads YAML 1.1, where 0x10 is 16,
# 012 is 10 and 1:30 is 90: a reader of the file would not expect those values.
_DECIMAL_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)")
_DECIMAL_FLOAT = re.compile(
    r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)"
)


def _check_number(node: yaml.ScalarNode, where: Location, path: Path, error: ErrorClass) -> None:
    kind = node.tag.rsplit(":", 1)[-1]
    if node.style or kind not in ("int", "float"):  # libyaml gives plain scalars style ""
        return
    pattern = _DECIMAL_INT if kind == "int" else _DECIMAL_FLOAT
    if not pattern.fullmatch(node.value):
        raise error(
            f"{path}:{node.start_mark.line + 1}: {_field(where)}expected a plain decimal "
            f"number, got {node.value!r} (YAML 1.1 reads it as "
            f"{'an integer' if kind == 'int' else 'a number'} in another notation; "
            "write it in decimal, or quote it if it is text)"
        )


def _build(
    node: yaml.Node,
    where: Location,
    path: Path,
    scalars: yaml.SafeLoader,
    error: ErrorClass,
    lines: dict[Location, int],
) -> Any:
    """The Python value of a node (as ``yaml.safe_load`` would build it), refusing keys
    that are not field names and keys given twice, which PyYAML would silently collapse.
    ``scalars`` builds the leaves; it caches what it built, so it lives for one document."""
    line = node.start_mark.line + 1
    lines.setdefault(where, line)
    if isinstance(node, yaml.SequenceNode):
        return [
            _build(item, (*where, i), path, scalars, error, lines)
            for i, item in enumerate(node.value)
        ]
    if isinstance(node, yaml.MappingNode):
        mapping: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key, value in node.value:
            line = key.start_mark.line + 1
            if not (isinstance(key, yaml.ScalarNode) and key.tag == _STR_TAG):
                shown = key.value if isinstance(key, yaml.ScalarNode) else "[...]"
                raise error(
                    f"{path}:{line}: {_field(where)}expected field names, found the key "
                    f"{shown!r}, which YAML reads as {_yaml_kind(key)}"
                )
            if key.value in first_line:
                raise error(
                    f"{path}:{line}: {_field((*where, key.value))}expected once, but it is "
                    f"also on line {first_line[key.value]}; keep one"
                )
            first_line[key.value] = line
            lines[(*where, key.value)] = line
            mapping[key.value] = _build(value, (*where, key.value), path, scalars, error, lines)
        return mapping
    assert isinstance(node, yaml.ScalarNode)
    _check_number(node, where, path, error)
    try:
        return scalars.construct_object(node)
    except (yaml.YAMLError, ValueError, OverflowError) as exc:
        # A value YAML recognises but cannot build: a date like 2024-13-01, an integer
        # of 5000 digits.
        raise error(
            f"{path}:{line}: {_field(where)}expected a readable value, "
            f"got {short(node.value)} ({exc})"
        ) from exc


def _yaml_kind(node: yaml.Node) -> str:
    if not isinstance(node, yaml.ScalarNode):
        return "a list or mapping"
    kind = node.tag.rsplit(":", 1)[-1]
    names = {"int": "a number", "float": "a number", "bool": "true/false", "merge": "a merge"}
    return names.get(kind, f"a {kind}")


def _line_of(root: yaml.Node, location: Location) -> int:
    """The 1-based line of the deepest YAML node on ``location`` that exists."""
    node = root
    line = node.start_mark.line + 1
    for part in location:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            if isinstance(part, int):
                continue  # a single item written without the list around it
            for key, value in node.value:
                if key.value == part:
                    child = value
                    line = key.start_mark.line + 1
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            child = node.value[part]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line
