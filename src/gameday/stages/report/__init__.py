"""The drill report: a run's page and post-mortems, the history across runs, and coverage.

    journal.json -> model (typed records) -> render: index.html + postmortem-<scenario>.md
                                           -> history: history.sqlite -> reports/index.html
    scenarios/*.yml + history ---------------> coverage: rows in both pages

Everything here reads the journal that ``gameday.stages.journal`` writes and nothing else of a
run; it never talks to the replica.
"""

from gameday.stages.report.coverage import CoverageRow, playbook_coverage
from gameday.stages.report.history import publish_run, record_run, render_history
from gameday.stages.report.model import ReportError
from gameday.stages.report.render import render_run

__all__ = [
    "CoverageRow",
    "ReportError",
    "playbook_coverage",
    "publish_run",
    "record_run",
    "render_history",
    "render_run",
]
