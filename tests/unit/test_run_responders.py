"""Who responds to a drill: the run's override, else the scenario's own choice."""

from __future__ import annotations

from pathlib import Path

from gameday.inputs.scenario import Scenario, load_scenario
from gameday.stages.run import AutoResponder, Drill, NoResponder, _responder_for

REPO = Path(__file__).resolve().parents[2]


class FakePeople:
    """A stand-in for the human responder; it never runs here."""

    name = "human"

    def respond(self, drill: Drill) -> None:
        raise AssertionError("not called in these tests")


def with_responder(kind: str) -> Scenario:
    scenario = load_scenario(REPO / "scenarios" / "database-outage.yml")
    recovery = scenario.recovery.model_copy(update={"responder": kind})
    return scenario.model_copy(update={"recovery": recovery})


def test_a_scenario_that_asks_for_people_gets_them_when_the_run_can_reach_them() -> None:
    people = FakePeople()
    assert _responder_for(with_responder("human"), None, people) is people


def test_without_a_way_to_reach_people_the_automatic_responder_answers() -> None:
    assert isinstance(_responder_for(with_responder("human"), None, None), AutoResponder)


def test_the_scenarios_own_auto_and_none() -> None:
    people = FakePeople()
    assert isinstance(_responder_for(with_responder("auto"), None, people), AutoResponder)
    assert isinstance(_responder_for(with_responder("none"), None, people), NoResponder)


def test_the_runs_override_wins_over_the_scenario() -> None:
    override = NoResponder()
    assert _responder_for(with_responder("human"), override, FakePeople()) is override
