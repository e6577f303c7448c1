"""Where backups are kept: a named volume of the replica's own, which the backup service
mounts and the protected service does not; anything else is refused with file, line and
field. And the compose topology that tells: the volumes each service mounts."""

from __future__ import annotations

from pathlib import Path

import pytest
from smallproject import COMPOSE, PROJECT, write_small_project

from gameday.errors import ProjectError
from gameday.inputs.project import load_project, read_topology

# The small project's database with a data volume, and a backup service with its own.
COMPOSE_WITH_BACKUPS = (
    COMPOSE.replace(
        "  db:\n    image: shop/db\n    networks: [back]\n",
        "  db:\n    image: shop/db\n    networks: [back]\n    volumes: [dbdata:/var/lib/db]\n"
        "  backup:\n    image: shop/db\n    networks: [back]\n"
        '    volumes: ["backups:/backups", "./scripts:/scripts:ro"]\n',
    )
    + "volumes:\n  dbdata: {}\n  backups: {}\n"
)


def project_with_backups(volume: str, service: str = "backup") -> str:
    return PROJECT + f"backups:\n  service: {service}\n  of: db\n  volume: {volume}\n"


def error_of(tmp_path: Path, project: str) -> str:
    root = write_small_project(tmp_path, project, {"compose.yml": COMPOSE_WITH_BACKUPS})
    with pytest.raises(ProjectError) as caught:
        load_project(root)
    return str(caught.value).replace(f"{tmp_path}/", "")


def test_backups_on_a_volume_of_their_own_are_accepted(tmp_path: Path) -> None:
    root = write_small_project(
        tmp_path, project_with_backups("backups"), {"compose.yml": COMPOSE_WITH_BACKUPS}
    )
    backups = load_project(root).spec.backups
    assert backups is not None
    assert (backups.service, backups.of, backups.volume) == ("backup", "db", "backups")


BACKUPS_LINE = PROJECT.count("\n") + 4  # the line of backups.volume


@pytest.mark.parametrize(
    ("volume", "service", "expected"),
    [
        pytest.param(
            "dbdata",
            "backup",
            "expected a volume of the backups' own, but 'dbdata' is db's own data volume",
            id="the database's own volume",
        ),
        pytest.param(
            "/srv/backups",
            "backup",
            "expected a named volume of the compose file, got the host path '/srv/backups'",
            id="a host path",
        ),
        pytest.param(
            "./backups",
            "backup",
            "expected a named volume of the compose file, got the host path './backups'",
            id="a relative host path",
        ),
        pytest.param(
            "tapes",
            "backup",
            "expected a named volume of the compose file (backups, dbdata), got 'tapes'",
            id="a volume the compose file does not declare",
        ),
        pytest.param(
            "backups",
            "web",
            "expected a volume that web mounts (none), got 'backups'",
            id="a volume the backup service does not mount",
        ),
    ],
)
def test_a_bad_backup_location_is_refused_with_file_line_and_field(
    tmp_path: Path, volume: str, service: str, expected: str
) -> None:
    message = error_of(tmp_path, project_with_backups(volume, service))
    assert message.startswith(f"gameday.yml:{BACKUPS_LINE}: field 'backups.volume': "), message
    assert expected in message, message


def test_the_topology_reads_each_services_mounts(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yml"
    compose.write_text(
        "services:\n"
        "  a:\n"
        "    volumes:\n"
        "      - data:/data\n"
        "      - /etc/hosts:/etc/hosts:ro\n"
        "      - /anonymous\n"
        "      - {type: volume, source: logs, target: /logs}\n"
        "      - {type: tmpfs, target: /tmp}\n"
        "volumes: {data: {}, logs: {}}\n"
    )
    topology = read_topology([compose])
    assert topology.volumes == frozenset({"data", "logs"})
    assert topology.services["a"].named_volumes() == ("data", "logs")
    kinds = [m.kind for m in topology.services["a"].mounts]
    assert kinds == ["volume", "bind", "volume", "volume", "tmpfs"]


def test_the_bundled_backups_are_outside_the_databases_volume() -> None:
    project = load_project(Path(__file__).resolve().parents[2] / "gameday.yml")
    backups = project.spec.backups
    assert backups is not None
    assert backups.volume in project.topology.services[backups.service].named_volumes()
    assert backups.volume not in project.topology.services[backups.of].named_volumes()
