"""The compose file's first check, before Docker is asked anything about it."""

from __future__ import annotations

from pathlib import Path

import pytest

from gameday.errors import ComposeFileError
from gameday.infra.compose import ComposeProject


def project(compose: Path) -> ComposeProject:
    return ComposeProject(run_id="test", lease="manual", compose_files=[compose])


def test_a_binary_compose_file_expects_utf8_yaml(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yml"
    compose.write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(ComposeFileError, match=r"compose\.yml: expected UTF-8 YAML, but byte 0"):
        project(compose).check_file()


def test_utf8_text_beyond_ascii_is_fine(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yml"
    compose.write_text("# réplica ≤ 3 s\nservices: {}\n", encoding="utf-8")
    project(compose).check_file()


def test_an_empty_compose_file_is_refused(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yml"
    compose.write_text(" \n")
    with pytest.raises(ComposeFileError, match="the compose file is empty"):
        project(compose).check_file()
