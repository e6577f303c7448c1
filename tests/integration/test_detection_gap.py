"""A silent failure, for real: users broken while no alert fires.

On the orders example (examples/orders, a stack gameday's engine knows nothing of), a
trigger refuses every new order: /health, the exporters and reads stay fine, so none of the
playbook's alerts fires while the writes fail. The drill must see the detection gap,
put it in the journal, on the timeline and in the report, and fail on it as the scenario
asks (or, on a saturated host, call the drill inconclusive: never a pass).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.docker

REPO = Path(__file__).parents[2]
ORDERS = REPO / "examples" / "orders"
SCENARIO = REPO / "tests" / "fixtures" / "orders-silent" / "orders-refused.yml"
GAMEDAY = [sys.executable, "-m", "gameday"]


def gameday(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*GAMEDAY, *args, "--project", str(ORDERS)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_users_broken_with_no_alert_is_a_detection_gap(tmp_path: Path) -> None:
    built = gameday("build")
    assert built.returncode == 0, built.stderr
    done = gameday("run", str(SCENARIO), "--reports", str(tmp_path))
    output = done.stdout + done.stderr
    journal = json.loads((tmp_path / "latest" / "journal.json").read_text())
    (drill,) = journal["scenarios"]
    assert drill["verdict"] in ("failed", "inconclusive"), output
    assert done.returncode == (1 if drill["verdict"] == "failed" else 5), output
    (gap, *_) = drill["detection_gaps"]
    # Writes are a third of the load: about that share failed, for the 20 s before the
    # responder acted, with nothing firing.
    assert 0.1 <= gap["error_rate"] <= 0.6, gap
    assert gap["end_s"] - gap["start_s"] >= 12, gap
    assert gap["detail"].startswith("users saw ") and "no alert was firing" in gap["detail"]
    assert not [a for a in drill["alerts"] if a["firing_at"] and not a["already_active"]]
    silent = next(c for c in drill["checks"] if c["id"] == "silent")
    assert not silent["passed"] and silent["reason"].startswith("detection gap: users saw")
    assert any(e["kind"] == "detection_gap" for e in drill["events"])
    page = (tmp_path / "latest" / "index.html").read_text()
    assert "Detection gap" in page and gap["detail"] in page
    postmortem = next((tmp_path / "latest").glob("postmortem-*.md")).read_text()
    assert "Detection gap" in postmortem
    # The trigger is gone: the fault was reverted by the playbook's step.
    assert drill["recovery_steps"][0]["ok"] is True
