"""Properties of the scenario loader: whatever the input, the answer is a Scenario or a
ScenarioError (never another exception), and a valid scenario survives a YAML round trip."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gameday.errors import ScenarioError
from gameday.inputs.project import load_project
from gameday.inputs.scenario import TOXIC_ATTRIBUTES, Scenario, load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[2]
# Scenarios are checked against the bundled example's project, as `gameday validate` would.
PROJECT = load_project(ROOT / "gameday.yml")
assert PROJECT.playbook is not None and PROJECT.spec.load is not None
PLAYBOOK = PROJECT.playbook
assert sorted(r.name for r in PROJECT.spec.load.requests) == [
    "create-task",
    "pay-task",
    "read-task",
]
BUNDLED = sorted((ROOT / "scenarios").glob("*.yml")) + sorted(
    (ROOT / "tests" / "scenarios").glob("*.yml")
)
VALID_DOCUMENTS = [yaml.safe_load(path.read_text()) for path in BUNDLED]
FILE = Path("fuzz.yml")

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome(text: str) -> Scenario | ScenarioError:
    """Load ``text``; a ScenarioError is an answer, any other exception fails the test."""
    try:
        return parse_scenario(text, FILE, PROJECT)
    except ScenarioError as exc:
        assert str(exc).startswith(f"{FILE}"), str(exc)
        return exc


# -- arbitrary documents ----------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["stop_service", "postgres", "DatabaseDown", "latency", "auto", "15"])
)
keys = st.text(max_size=12) | st.sampled_from(
    ["name", "title", "faults", "type", "service", "detection", "expect", "targets", "links"]
)
yamlish = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=25,
)


@FAST
@given(yamlish)
def test_any_document_is_a_scenario_or_a_scenario_error(document: Any) -> None:
    outcome(yaml.safe_dump(document))


@FAST
@given(st.dictionaries(keys, yamlish, max_size=8))
def test_any_mapping_is_a_scenario_or_a_scenario_error(document: dict[str, Any]) -> None:
    assert isinstance(outcome(yaml.safe_dump(document)), ScenarioError | Scenario)


@FAST
@given(st.text(max_size=200))
def test_any_text_is_a_scenario_or_a_scenario_error(text: str) -> None:
    outcome(text)


@FAST
@given(st.sampled_from(BUNDLED), st.data())
def test_a_damaged_file_is_a_scenario_or_a_scenario_error(path: Path, data: st.DataObject) -> None:
    text = path.read_text()
    at = data.draw(st.integers(0, len(text)))
    cut = data.draw(st.integers(0, 5))
    insert = data.draw(
        st.text(max_size=5) | st.sampled_from(["\t", ":", "- ", "&a", "*a", "!!int ", "{", "\n  "])
    )
    outcome(text[:at] + insert + text[at + cut :])


# -- mutations of valid scenarios ---------------------------------------------------------------


def paths_in(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside ``value`` (mapping keys and list indexes)."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths_in(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths_in(child, (*prefix, index))
    return found


def parent_of(document: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        document = document[part]
    return document


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, str, dict[str, Any]]:
    document = copy.deepcopy(draw(st.sampled_from(VALID_DOCUMENTS)))
    path = draw(st.sampled_from(paths_in(document)))
    parent = parent_of(document, path)
    kind = draw(st.sampled_from(["drop", "retype", "unknown key"]))
    key = draw(st.sampled_from(["colour", "servce", "retries", "extra_s"]))
    if kind == "drop":
        del parent[path[-1]]
    elif kind == "retype":
        parent[path[-1]] = draw(yamlish)
    else:
        # A bad deploy's environment takes any variable name: no unknown key there.
        mappings = [
            p
            for p in [(), *paths_in(document)]
            if isinstance(_at(document, p), dict) and p[-1:] != ("environment",)
        ]
        target = _at(document, draw(st.sampled_from(mappings)))
        target[key] = draw(scalars)
    return kind, key, document


def _at(document: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        document = document[part]
    return document


@FAST
@given(mutated())
def test_a_mutated_scenario_is_a_scenario_or_a_scenario_error(
    mutation: tuple[str, str, dict[str, Any]],
) -> None:
    kind, key, document = mutation
    result = outcome(yaml.safe_dump(document, sort_keys=False))
    if kind == "unknown key":  # every mapping of a scenario has a fixed set of keys
        assert isinstance(result, ScenarioError)
        assert f".{key}'" in str(result) or f"'{key}'" in str(result)


# -- round trip ---------------------------------------------------------------------------------

words = st.text(min_size=1, max_size=30)
seconds = st.floats(min_value=0.001, max_value=86_400, allow_nan=False)
fractions = st.floats(min_value=0, max_value=1, allow_nan=False)
links = st.lists(st.sampled_from(sorted(PROJECT.links)), min_size=1, max_size=4, unique=True)
services = st.sampled_from(sorted(PROJECT.services))
commands = st.sampled_from(sorted(PROJECT.spec.commands))


def targets_of(kind: Any) -> st.SearchStrategy[str]:
    return st.sampled_from(sorted(PROJECT.fault_targets(kind)))


@st.composite
def partitions(draw: st.DrawFn) -> dict[str, Any]:
    targets = PROJECT.fault_targets("partition")
    on = {
        network: sorted(
            name
            for name, info in PROJECT.topology.services.items()
            if network in info.networks and name in targets
        )
        for network in PROJECT.topology.networks()
    }
    # A network with no service partitions may cut off (payments: the stand-in and the
    # proxy) can be named by no partition.
    network = draw(st.sampled_from(sorted(n for n, members in on.items() if members)))
    members = on[network]
    services = draw(st.lists(st.sampled_from(members), min_size=1, max_size=3, unique=True))
    return {"type": "partition", "services": services, "network": network}


@st.composite
def toxics(draw: st.DrawFn) -> dict[str, Any]:
    toxic = draw(st.sampled_from(sorted(TOXIC_ATTRIBUTES)))
    ranges = TOXIC_ATTRIBUTES[toxic]
    names = draw(st.lists(st.sampled_from(sorted(ranges)), unique=True))
    attributes = {name: draw(st.integers(*ranges[name])) for name in names}
    if "average_size" in attributes and "size_variation" in attributes:
        # The proxy's slicer needs a variation below the average size.
        attributes["size_variation"] = draw(st.integers(0, attributes["average_size"] - 1))
    return {
        "type": "link_toxic",
        "links": draw(links),
        "toxic": toxic,
        "stream": draw(st.sampled_from(["upstream", "downstream"])),
        "toxicity": draw(fractions),
        "attributes": attributes,
    }


faults = st.one_of(
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(
                ["stop_service", "kill_service", "pause_service", "restart_service"]
            ),
            "service": targets_of("service"),
        }
    ),
    partitions(),
    toxics(),
    st.fixed_dictionaries({"type": st.just("link_down"), "links": links}),
    st.fixed_dictionaries({"type": st.just("command"), "command": commands}),
    st.fixed_dictionaries(
        {
            "type": st.just("connection_exhaustion"),
            "service": services,
            "database": st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,62}", fullmatch=True),
            "connections": st.integers(1, 10_000),
        }
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("bad_deploy"),
            "service": targets_of("deploy"),
            "environment": st.dictionaries(
                st.from_regex(r"[A-Z_][A-Z0-9_]{0,20}", fullmatch=True),
                st.text(max_size=20),
                min_size=1,
                max_size=3,
            ),
        }
    ),
)
steps = st.one_of(
    st.fixed_dictionaries(
        {
            "action": st.sampled_from(["start_service", "restart_service", "unpause_service"]),
            "service": services,
        }
    ),
    st.fixed_dictionaries({"action": st.just("rollback"), "service": services}),
    st.fixed_dictionaries({"action": st.sampled_from(["heal_partition", "clear_link_faults"])}),
    st.fixed_dictionaries({"action": st.just("command"), "command": commands}),
    st.fixed_dictionaries({"action": st.just("wait"), "seconds": seconds}),
)
alert_lists = st.lists(st.sampled_from(sorted(PROJECT.alerts)), unique=True)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    alerts = draw(alert_lists.filter(bool))
    expect = draw(st.lists(st.sampled_from(alerts), min_size=1, unique=True))
    document = {
        "name": draw(st.from_regex(r"[a-z0-9][a-z0-9-]{0,62}", fullmatch=True)),
        "title": draw(words),
        "description": draw(st.text(max_size=200)),
        "playbook": {
            "section": draw(st.sampled_from(PLAYBOOK.section_names())),
            "alerts": alerts,
            "drill": draw(st.none() | st.sampled_from(PLAYBOOK.drills)),
        },
        "faults": draw(st.lists(faults, min_size=1, max_size=3)),
        "load": {
            "rate_per_s": draw(st.none() | st.floats(min_value=0.01, max_value=500)),
            "timeout_s": draw(st.none() | seconds),
            # The load must keep writing: create-task keeps a weight above 0.
            "weights": draw(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "create-task": st.floats(0.001, 1_000_000),
                        "read-task": st.floats(0, 1_000_000),
                        "pay-task": st.floats(0, 1_000_000),
                    },
                )
            ),
        },
        "detection": {
            "expect": expect,
            "within_s": draw(seconds),
            "allow": draw(alert_lists),
        },
        "recovery": {
            "responder": draw(st.sampled_from(["auto", "human", "none"])),
            "start_after_s": draw(st.none() | seconds),
            "steps": draw(st.lists(steps, min_size=1, max_size=4)),
        },
        "steady_state": {
            "healthy": draw(
                st.none() | st.lists(st.sampled_from(sorted(PROJECT.health())), unique=True)
            ),
            "alerts_resolved": draw(st.booleans()),
            "max_error_rate": draw(fractions),
            "window_s": draw(seconds),
        },
        "targets": {
            "mttd_s": draw(seconds),
            "mttr_s": draw(seconds),
            "p95_ms": draw(st.floats(min_value=0.001, max_value=3_600_000)),
            "error_rate": draw(fractions),
            "availability": draw(st.none() | fractions),
            "lost_writes": draw(st.integers(0, 10**6)),
        },
    }
    return Scenario.model_validate(document)


@FAST
@given(scenarios())
def test_a_valid_scenario_survives_a_yaml_round_trip(scenario: Scenario) -> None:
    text = yaml.safe_dump(scenario.model_dump(mode="json"), sort_keys=False)
    assert parse_scenario(text, FILE, PROJECT) == scenario.model_copy(update={"source": FILE})


@FAST
@given(st.sampled_from(BUNDLED))
def test_a_bundled_scenario_survives_a_yaml_round_trip(path: Path) -> None:
    scenario = parse_scenario(path.read_text(), FILE, PROJECT)
    text = yaml.safe_dump(scenario.model_dump(mode="json"))
    assert parse_scenario(text, FILE, PROJECT) == scenario


@FAST
@given(st.binary(max_size=300))
def test_any_bytes_in_a_file_are_a_scenario_or_a_scenario_error(
    tmp_path_factory: Any, data: bytes
) -> None:
    # What the file reader adds to the text's properties: decoding, and the size cap.
    path = tmp_path_factory.mktemp("bytes") / "fuzz.yml"
    path.write_bytes(data)
    try:
        load_scenario(path, PROJECT)
    except ScenarioError as exc:
        assert str(exc).startswith(str(path)), str(exc)
