"""Publishing a run: the one step every adapter ends with.

``publish`` writes a run's journal under ``<reports>/<run-id>/``, renders its page and
post-mortems, records it in the history and renders the history page, with the project's
playbook as the coverage outline. The CLI, the pytest plugin and the Chaos Toolkit
extension all call it, so a run from any of them shows in the same history.
``republish`` does the same for a journal that is already written (``gameday report``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gameday.inputs.project import Project
from gameday.stages.journal import Journal, write_journal

__all__ = ["Published", "publish", "republish"]


@dataclass(frozen=True)
class Published:
    journal: Path
    report: Path


def publish(journal: Journal, reports_dir: Path, project: Project | None) -> Published:
    """Write ``journal`` and its report into ``reports_dir`` and record it in the history.

    Raises ReportError when the report cannot be written (the journal is kept, and the
    history does not record the run)."""
    path = write_journal(journal, reports_dir)
    return Published(path, republish(path.parent, reports_dir, project))


def republish(run_dir: Path, reports_dir: Path, project: Project | None) -> Path:
    """Render a written run's report and the history page again; the run's page."""
    from gameday.stages.report import publish_run
    from gameday.stages.report.coverage import PlaybookOutline

    scenarios_dir = project.scenarios_dir if project and project.scenarios_dir.is_dir() else None
    outline = PlaybookOutline.of_project(project) if project else None
    return publish_run(run_dir, reports_dir, scenarios_dir=scenarios_dir, outline=outline)
