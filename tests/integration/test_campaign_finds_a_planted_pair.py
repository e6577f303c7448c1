"""A campaign finds a combination the playbook does not handle, for real, and shrinks it.

The plant: on a copy of examples/orders, the team "kept its paging quiet" by writing
QueueDown so that it cannot fire while the API is down (``unless on() up{job="web"} ==
0``). Each of the two faults alone is detected; together (the API crashed, then the queue
lost) QueueDown stays silent. A seeded campaign over three fault kinds meets the pair in
its third wave; gameday must see the detection invariant break there, shrink the schedule
to at most those two faults, write them as a scenario that validates and a schedule that,
replayed, runs the same waves and breaks the same way.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gameday.infra.ownership import LABEL_RUN
from gameday.inputs.campaign import CampaignSpec, Schedule
from gameday.inputs.project import load_project
from gameday.inputs.scenario import load_all
from gameday.stages.campaign.schedule import draw_waves, fault_pool
from gameday.stages.faults.ledger import Ledger

pytestmark = pytest.mark.docker

REPO = Path(__file__).parents[2]
ORDERS = REPO / "examples" / "orders"
PLANTED = ("api-crash", "queue-outage")
LIMITS = """
campaign:
  scenarios: [api-crash, database-outage, queue-outage]
  max_concurrent: 2
  hold_s: [20, 25]
  stagger_s: [0, 4]
"""


def planted_project(tmp_path: Path) -> Path:
    copy = tmp_path / "orders"
    shutil.copytree(ORDERS, copy, ignore=shutil.ignore_patterns("reports"))
    (copy / "gameday.yml").write_text((copy / "gameday.yml").read_text() + LIMITS)
    rules = copy / "monitoring" / "rules"
    rule_file = next(f for f in rules.glob("*.yml") if "alert: QueueDown" in f.read_text())
    text = rule_file.read_text()
    old = 'expr: probe_success{job="queue"} == 0'
    assert old in text
    rule_file.write_text(
        text.replace(
            old, 'expr: (probe_success{job="queue"} == 0) unless on() (up{job="web"} == 0)'
        )
    )
    return copy / "gameday.yml"


def is_planted(faults: list[str]) -> bool:
    return faults == list(PLANTED)


def seed_meeting_the_plant_in_wave_3(project_file: Path) -> int:
    """The first seed whose third wave is the API crash then the queue loss, and whose
    first two waves are not (found from the draw itself, so it follows any change)."""
    project = load_project(project_file)
    pool = fault_pool(project, load_all([project.scenarios_dir], project))
    spec: CampaignSpec = project.spec.campaign
    for seed in range(1000):
        waves = draw_waves(pool, spec, seed)
        first = [[f.scenario for f in next(waves).faults] for _ in range(3)]
        if is_planted(first[2]) and not any(is_planted(w) for w in first[:2]):
            return seed
    raise AssertionError("no seed under 1000 meets the plant in wave 3")


def gameday(project_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gameday", *args, "--project", str(project_file)],
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )


def journal_of(reports: Path) -> tuple[dict, Path]:
    (path,) = reports.glob("*/campaign.json")
    return json.loads(path.read_text()), path


def test_a_campaign_finds_the_planted_pair_and_shrinks_to_it(tmp_path: Path) -> None:
    project_file = planted_project(tmp_path)
    seed = seed_meeting_the_plant_in_wave_3(project_file)
    built = gameday(project_file, "build")
    assert built.returncode == 0, built.stderr

    reports = tmp_path / "reports"
    done = gameday(
        project_file, "campaign", "--seed", str(seed), "--waves", "3", "--reports", str(reports)
    )
    output = done.stdout + done.stderr
    record, path = journal_of(reports)
    if record["verdict"] == "inconclusive":
        pytest.skip(f"the host was saturated, the campaign could not tell: {output[-2000:]}")
    assert done.returncode == 1, output
    assert record["verdict"] == "broken", output
    assert [len(w["faults"]) for w in record["schedule"]["waves"]][2] == 2
    target = record["shrink"]["target"]
    assert (target["invariant"], target["scenario"], target["subject"]) == (
        "detection",
        "queue-outage",
        "QueueDown",
    ), output
    assert target["wave"] == 3, output
    # The first two waves held: their alerts fired.
    assert all(v["wave"] == 3 for v in record["violations"] if not v["inconclusive"]), output

    minimal = record["shrink"]["minimal"]
    kept = [f["scenario"] for w in minimal["waves"] for f in w["faults"]]
    assert set(kept) <= set(PLANTED) and len(kept) <= 2, output
    assert record["shrink"]["attempts"], output
    assert record["shrink"]["attempts"][0]["outcome"] == "broke", output  # wave 3 alone

    # What a person gets: a scenario that validates, a schedule that replays the same.
    scenario_file = Path(record["shrink"]["scenario_file"])
    checked = gameday(project_file, "validate", str(scenario_file))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    page = (path.parent / "campaign.html").read_text()
    assert "The smallest schedule that still breaks it" in page
    assert "QueueDown did not fire" in page

    replays = tmp_path / "replays"
    again = gameday(
        project_file,
        "campaign",
        "--replay",
        record["shrink"]["schedule_file"],
        "--no-shrink",
        "--reports",
        str(replays),
    )
    replayed, _ = journal_of(replays)
    assert Schedule.model_validate(replayed["schedule"]) == Schedule.model_validate(minimal)
    if replayed["verdict"] != "inconclusive":
        assert again.returncode == 1, again.stdout + again.stderr
        assert any(
            (v["invariant"], v["scenario"], v["subject"])
            == ("detection", "queue-outage", "QueueDown")
            for v in replayed["violations"]
        )

    # Nothing of it is left: no fault in the ledger, no container of its runs.
    for run_id in (record["run_id"], replayed["run_id"]):
        assert Ledger().entries(run_id) == []
        leftovers = subprocess.run(
            ["docker", "ps", "-aq", "--filter", f"label={LABEL_RUN}={run_id}"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert leftovers.stdout.strip() == ""


def test_a_campaign_interrupted_mid_fault_reverts_it_and_removes_its_replica(
    tmp_path: Path,
) -> None:
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "gameday", "campaign", "--seed", "1", "--waves", "2"),
            *("--reports", str(tmp_path), "--project", str(ORDERS)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    seen: list[str] = []
    run_id = ""
    for line in process.stdout:
        seen.append(line)
        found = re.search(r"replica gameday-(\S+): ready", line)
        run_id = found.group(1) if found else run_id
        if "  + " in line:
            break  # a fault is in
    time.sleep(2)
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=240)
    output = "".join(seen) + rest
    assert process.returncode == 130, output
    assert "Traceback" not in output
    assert run_id, output
    assert Ledger().entries(run_id) == []
    leftovers = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label={LABEL_RUN}={run_id}"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert leftovers.stdout.strip() == "", output
