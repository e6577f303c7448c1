"""Properties of the journal reader and `gameday report`: whatever the journal holds, the
answer is a report or a ReportError (exit 2, one line naming the file), never another
exception. Inputs: arbitrary JSON, and valid journals with a few values replaced."""

from __future__ import annotations

import copy
import json
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reportjournals import XSS, drill_json, journal_json, real_journal

from gameday.adapters.cli import main
from gameday.stages.report import ReportError, publish_run
from gameday.stages.report.model import Run, load_json, parse_journal

SOURCE = "fuzz/journal.json"
FAST = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
SLOW = settings(FAST, max_examples=40)  # each example writes a report

VALID = [
    journal_json(),
    journal_json("two", drill_json(), drill_json("cache-failure", mttd_s=None, mttr_s=None)),
    real_journal(note="paged " + XSS),
]


# -- values a hostile or corrupt journal may hold -------------------------------------------

numbers = (
    st.integers()
    | st.integers(min_value=10**15, max_value=10**400)
    | st.integers(min_value=-(10**400), max_value=-1)
    | st.floats()  # NaN and Infinity included: Python's json reads and writes them
    | st.sampled_from([0, -1, -0.0, 1e15, 1e15 + 1, 2**63, 1e308, 10**400 - 1, -(10**400)])
)
texts = (
    st.text(max_size=30)
    | st.text(st.characters(codec=None, categories=None), max_size=10)  # lone surrogates
    | st.sampled_from(
        [
            "",
            XSS,
            "[x](javascript:alert(1))",
            "9999-12-31T23:59:59.999999+00:00",
            "9999-12-31T23:00:00-05:00",
            "0001-01-01T00:00:00+05:00",
            "0001-01-01T00:00:00",
            "2025-03-14T10:00:08+00:00",
            "2025-03-14",
            "database-outage",
            "DATABASE-OUTAGE",
            "../../etc",
            "line\nbreak",
        ]
    )
)
scalars = st.none() | st.booleans() | numbers | texts
keys = st.text(max_size=8) | st.sampled_from(
    ["run_id", "scenarios", "name", "events", "at", "kind", "load_series", "start", "labels"]
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=20,
)


def outcome(data: object) -> Run | ReportError:
    """Read ``data``; a ReportError is an answer (checked for form), nothing else is."""
    try:
        return parse_journal(data, SOURCE)
    except ReportError as exc:
        check_message(exc)
        return exc


def check_message(exc: ReportError) -> None:
    message = str(exc)
    assert message.startswith(SOURCE), message
    assert "\n" not in message, message
    message.encode("utf-8")  # printable on any UTF-8 terminal: no lone surrogate


# -- mutations of valid journals --------------------------------------------------------------


def _places(node: object, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Every path into a JSON document, the document itself first."""
    yield path
    if isinstance(node, dict):
        for key, child in node.items():
            yield from _places(child, (*path, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _places(child, (*path, index))


def _replace(document: Any, path: tuple[str | int, ...], value: object) -> Any:
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return document


def _delete(document: Any, path: tuple[str | int, ...]) -> Any:
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    del parent[path[-1]]
    return document


@st.composite
def mutated_journals(draw: st.DrawFn) -> Any:
    """A valid journal with one to three values replaced, deleted or duplicated."""
    document: Any = copy.deepcopy(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        places = list(_places(document))[1:]  # the whole document is json_values' job
        if not places:
            break
        path = draw(st.sampled_from(places))
        action = draw(st.sampled_from(["replace", "replace", "delete", "duplicate"]))
        if action == "replace":
            document = _replace(document, path, draw(json_values))
        elif action == "delete":
            document = _delete(document, path)
        else:
            parent = document
            for step in path[:-1]:
                parent = parent[step]
            if isinstance(parent, list):
                parent.append(copy.deepcopy(parent[path[-1]]))
    return document


# -- the reader ---------------------------------------------------------------------------------


@FAST
@given(json_values)
def test_arbitrary_json_is_a_run_or_a_report_error(data: object) -> None:
    outcome(data)


@FAST
@given(json_values)
def test_arbitrary_json_text_is_a_run_or_a_report_error(data: object) -> None:
    try:
        parse_journal(load_json(json.dumps(data), SOURCE), SOURCE)
    except ReportError as exc:
        check_message(exc)


@FAST
@given(mutated_journals())
def test_a_mutated_journal_is_a_run_or_a_report_error(journal: Any) -> None:
    outcome(journal)


@FAST
@given(st.sampled_from(VALID), st.data())
def test_a_truncated_or_corrupted_journal_text_is_a_report_error(
    journal: Any, data: st.DataObject
) -> None:
    text = json.dumps(journal)
    cut = data.draw(st.integers(min_value=0, max_value=len(text) - 1))
    garbage = data.draw(st.text(max_size=3))
    try:
        parse_journal(load_json(text[:cut] + garbage, SOURCE), SOURCE)
    except ReportError as exc:
        check_message(exc)


def test_the_valid_journals_are_valid() -> None:
    for journal in VALID:
        assert isinstance(outcome(journal), Run)


# -- the whole report: files, history, page ---------------------------------------------------


def publish(journal: object) -> Path | ReportError:
    """Write ``journal`` into a fresh reports directory and publish it."""
    with tempfile.TemporaryDirectory(prefix="gameday-fuzz-") as scratch:
        run_dir = Path(scratch) / "reports" / "run"
        run_dir.mkdir(parents=True)
        (run_dir / "journal.json").write_text(json.dumps(journal))
        try:
            page = publish_run(run_dir, run_dir.parent, scenarios_dir=None)
        except ReportError as exc:
            message = str(exc)
            assert message.startswith(str(run_dir)), message
            assert "\n" not in message, message
            return exc
        html = page.read_text()
        assert "<script" not in html
        for postmortem in run_dir.glob("postmortem-*.md"):
            assert "<script" not in postmortem.read_text()
        return page


@SLOW
@given(mutated_journals())
def test_a_mutated_journal_publishes_or_is_a_report_error(journal: Any) -> None:
    publish(journal)


@pytest.fixture
def _keep_sigterm() -> Iterator[None]:
    before = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, before)


@pytest.mark.usefixtures("_keep_sigterm")
@SLOW
@given(journal=mutated_journals() | json_values)
def test_gameday_report_exits_0_or_2_with_one_line(
    capsys: pytest.CaptureFixture[str], journal: Any
) -> None:
    with tempfile.TemporaryDirectory(prefix="gameday-fuzz-") as scratch:
        reports = Path(scratch) / "reports"
        run_dir = reports / "run"
        run_dir.mkdir(parents=True)
        (run_dir / "journal.json").write_text(json.dumps(journal))
        try:
            main(["report", str(run_dir), "--reports", str(reports)])
            status = 0
        except SystemExit as exc:
            status = exc.code if isinstance(exc.code, int) else -1
        err = capsys.readouterr().err
    assert status in (0, 2), err
    if status == 2:
        assert err.startswith("gameday: error: ") and err.count("\n") == 1, err
