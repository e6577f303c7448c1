"""The fault ledger and ``injected``: faults are recorded before they are injected, always
reverted in reverse order, and a dead drill's faults are reverted by the next one."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from faultfakes import FakeFault, fake_replica, link_down

from gameday.errors import FaultError
from gameday.infra import ownership
from gameday.inputs.scenario import FaultSpec
from gameday.stages.faults.ledger import Ledger, injected, revert_leftovers
from gameday.timeline import EventKind, Timeline

DEAD_LEASE = f"pid:{socket.gethostname()}:999999999:1"


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger(tmp_path / "state")


def test_the_state_dir_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GAMEDAY_STATE_DIR", str(tmp_path / "elsewhere"))
    assert Ledger().state_dir == tmp_path / "elsewhere"
    monkeypatch.delenv("GAMEDAY_STATE_DIR")
    assert Ledger().state_dir == Path.home() / ".local" / "state" / "gameday"


def test_an_entry_records_run_spec_and_lease_and_survives_a_new_process(ledger: Ledger) -> None:
    spec = link_down("backend-1-postgres")
    entry = ledger.record("run-a", spec)
    assert entry.lease == ownership.current_lease()
    again = Ledger(ledger.state_dir).entries("run-a")
    assert again == [entry]
    assert again[0].spec == spec
    assert ledger.entries("run-b") == []
    ledger.remove(entry.id)
    ledger.remove(entry.id)  # already gone: no error
    assert ledger.entries() == []


def test_an_unreadable_ledger_is_a_fault_error_that_names_the_file(ledger: Ledger) -> None:
    ledger.state_dir.mkdir(parents=True)
    ledger.path.write_text("{not json")
    with pytest.raises(FaultError, match=str(ledger.path)):
        ledger.entries()


def test_leftovers_of_a_dead_drill_are_reverted_newest_first(ledger: Ledger) -> None:
    replica = fake_replica()
    first = ledger.record(replica.run_id, link_down("backend-1-postgres"), lease=DEAD_LEASE)
    second = ledger.record(replica.run_id, link_down("backend-2-postgres"), lease=DEAD_LEASE)
    alive = ledger.record(replica.run_id, link_down("backend-1-redis"))
    other_run = ledger.record("another-run", link_down("backend-2-redis"), lease=DEAD_LEASE)
    journal: list[str] = []

    def build(spec: FaultSpec) -> FakeFault:
        assert spec.type == "link_down"
        return FakeFault(spec.links[0], journal, spec)

    reverted = revert_leftovers(replica, ledger=ledger, build=build)

    assert reverted == [second, first]
    assert journal == ["revert backend-2-postgres", "revert backend-1-postgres"]
    assert ledger.entries() == [alive, other_run]


def test_a_leftover_that_cannot_be_reverted_stays_in_the_ledger(ledger: Ledger) -> None:
    replica = fake_replica()
    stuck = ledger.record(replica.run_id, link_down("backend-1-postgres"), lease=DEAD_LEASE)
    fine = ledger.record(replica.run_id, link_down("backend-2-postgres"), lease=DEAD_LEASE)
    journal: list[str] = []

    def build(spec: FaultSpec) -> FakeFault:
        assert spec.type == "link_down"
        broken = FaultError("proxy paused") if spec == stuck.spec else None
        return FakeFault(spec.links[0], journal, spec, fail_revert=broken)

    with pytest.raises(FaultError, match="proxy paused"):
        revert_leftovers(replica, ledger=ledger, build=build)
    assert journal == ["revert backend-2-postgres", "revert backend-1-postgres"]
    assert [e.id for e in ledger.entries()] == [stuck.id]
    assert fine.id not in {e.id for e in ledger.entries()}


def test_injected_injects_in_order_and_reverts_in_reverse(ledger: Ledger) -> None:
    journal: list[str] = []
    faults = [FakeFault(name, journal) for name in ("a", "b", "c")]
    timeline = Timeline()
    with injected(faults, fake_replica(), timeline.add, ledger=ledger):
        assert len(ledger.entries()) == 3
        journal.append("body")
    assert journal == [
        "inject a",
        "inject b",
        "inject c",
        "body",
        "revert c",
        "revert b",
        "revert a",
    ]
    assert ledger.entries() == []
    kinds = [(e.kind, e.detail) for e in timeline.sorted()]
    assert kinds == [
        (EventKind.FAULT_INJECTED, "a"),
        (EventKind.FAULT_INJECTED, "b"),
        (EventKind.FAULT_INJECTED, "c"),
        (EventKind.FAULT_REVERTED, "c"),
        (EventKind.FAULT_REVERTED, "b"),
        (EventKind.FAULT_REVERTED, "a"),
    ]


@pytest.mark.parametrize(
    "error", [RuntimeError("drill broke"), KeyboardInterrupt(), SystemExit(143)], ids=type
)
def test_injected_reverts_in_reverse_however_the_block_ends(
    ledger: Ledger, error: BaseException
) -> None:
    journal: list[str] = []
    faults = [FakeFault(name, journal) for name in ("a", "b")]
    with pytest.raises(type(error)), injected(faults, fake_replica(), ledger=ledger):
        raise error
    assert journal == ["inject a", "inject b", "revert b", "revert a"]
    assert ledger.entries() == []


def test_a_half_done_injection_is_reverted_with_the_ones_before_it(ledger: Ledger) -> None:
    journal: list[str] = []
    faults = [
        FakeFault("a", journal),
        FakeFault("b", journal, fail_inject=FaultError("b went wrong half-way")),
        FakeFault("c", journal),
    ]
    with (
        pytest.raises(FaultError, match="half-way"),
        injected(faults, fake_replica(), ledger=ledger),
    ):
        journal.append("body")  # never reached
    assert journal == ["inject a", "inject b", "revert b", "revert a"]
    assert ledger.entries() == []


def test_an_interrupted_injection_is_reverted(ledger: Ledger) -> None:
    journal: list[str] = []
    faults = [FakeFault("a", journal), FakeFault("b", journal, fail_inject=KeyboardInterrupt())]
    with (
        pytest.raises(KeyboardInterrupt),
        injected(faults, fake_replica(), ledger=ledger),
    ):
        pass
    assert journal == ["inject a", "inject b", "revert b", "revert a"]
    assert ledger.entries() == []


def test_a_failed_revert_does_not_stop_the_others_and_keeps_its_entry(ledger: Ledger) -> None:
    journal: list[str] = []
    stuck = FakeFault("b", journal, link_down("backend-1-redis"), fail_revert=FaultError("no"))
    faults = [FakeFault("a", journal), stuck, FakeFault("c", journal)]
    timeline = Timeline()
    with (
        pytest.raises(FaultError, match="could not revert b: no"),
        injected(faults, fake_replica(), timeline.add, ledger=ledger),
    ):
        pass
    assert journal[-3:] == ["revert c", "revert b", "revert a"]
    assert [e.spec for e in ledger.entries()] == [stuck.spec]
    notes = [e.detail for e in timeline.sorted() if e.kind == EventKind.NOTE]
    assert notes == ["could not revert b: no"]


def test_a_failed_revert_after_an_error_is_a_note_on_that_error(ledger: Ledger) -> None:
    journal: list[str] = []
    faults = [FakeFault("a", journal, fail_revert=FaultError("proxy gone"))]
    with pytest.raises(RuntimeError) as caught, injected(faults, fake_replica(), ledger=ledger):
        raise RuntimeError("drill broke")
    assert caught.value.__notes__ == ["could not revert a: proxy gone"]


def test_a_ctrl_c_during_revert_skips_only_that_fault(ledger: Ledger) -> None:
    journal: list[str] = []
    faults = [
        FakeFault("a", journal),
        FakeFault("b", journal, link_down("backend-1-redis"), fail_revert=KeyboardInterrupt()),
    ]
    with pytest.raises(KeyboardInterrupt), injected(faults, fake_replica(), ledger=ledger):
        pass
    assert journal[-2:] == ["revert b", "revert a"]
    assert [e.spec for e in ledger.entries()] == [link_down("backend-1-redis")]


def test_a_failing_listener_does_not_stop_the_drill(ledger: Ledger) -> None:
    journal: list[str] = []

    def broken_listener(*args: object, **kwargs: object) -> None:
        raise ValueError("listener bug")

    with injected([FakeFault("a", journal)], fake_replica(), broken_listener, ledger=ledger):
        pass
    assert journal == ["inject a", "revert a"]


def test_the_ledger_file_is_plain_json(ledger: Ledger) -> None:
    ledger.record("run-a", link_down("backend-1-postgres"), lease=DEAD_LEASE)
    document = json.loads(ledger.path.read_text())
    (entry,) = document["entries"]
    assert entry["spec"] == {"type": "link_down", "links": ["backend-1-postgres"]}
    assert entry["lease"] == DEAD_LEASE
    assert entry["run_id"] == "run-a"
