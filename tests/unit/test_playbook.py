"""The playbook reader: a team's Markdown read for its sections, alerts and drills, or a
PlaybookError naming the file and the line."""

from __future__ import annotations

from pathlib import Path

import pytest
from smallproject import PLAYBOOK as SMALL_PLAYBOOK

from gameday.errors import PlaybookError
from gameday.inputs.playbook import Playbook, load_playbook, parse_playbook

REPO = Path(__file__).resolve().parents[2]
BUNDLED_PLAYBOOK = REPO / "src" / "gameday" / "stack" / "playbook.md"
FILE = Path("playbook.md")


@pytest.fixture(scope="module")
def bundled() -> Playbook:
    return load_playbook(BUNDLED_PLAYBOOK)


def error_of(text: str) -> str:
    with pytest.raises(PlaybookError) as caught:
        parse_playbook(text, FILE)
    return str(caught.value)


# -- the bundled playbook ---------------------------------------------------------------------


def test_the_bundled_playbook_has_four_sections_with_their_alerts_and_groups(
    bundled: Playbook,
) -> None:
    assert bundled.path == BUNDLED_PLAYBOOK
    assert [(s.group, s.title, s.alerts, s.line) for s in bundled.sections] == [
        ("Complete Service Outage", "Service Down", ("ServiceDown",), 11),
        (
            "Database Outages",
            "Database Connection Issues",
            ("HighDatabaseConnections", "DatabaseDown"),
            88,
        ),
        ("Cache Outages", "Redis Issues", ("LowRedisHitRate", "RedisDown"), 131),
        (
            "Network Issues",
            "High Latency / Connection Issues",
            ("HighResponseTime", "NetworkLatency"),
            165,
        ),
    ]
    assert bundled.alerts == (
        "ServiceDown",
        "HighDatabaseConnections",
        "DatabaseDown",
        "LowRedisHitRate",
        "RedisDown",
        "HighResponseTime",
        "NetworkLatency",
    )
    # Each alert's line is the **Alert** line that first names it.
    assert bundled.alert_lines["ServiceDown"] == 12
    assert bundled.alert_lines["DatabaseDown"] == 89
    assert bundled.alert_lines["NetworkLatency"] == 166


def test_the_bundled_playbook_has_four_drills(bundled: Playbook) -> None:
    # The last item's stray closing quote is not part of its name.
    assert bundled.drills == (
        "Database outage simulation",
        "Network partition testing",
        "Cache failure simulation",
        "Load balancer failure testing",
    )
    assert bundled.has_drill("database OUTAGE   simulation")
    assert not bundled.has_drill("Printer fire drill")


def test_severity_team_immediate_actions_and_commands_are_read(bundled: Playbook) -> None:
    service_down = bundled.sections[0]
    assert service_down.severity == "Critical"
    assert service_down.teams == "DevOps, Backend"
    assert service_down.immediate_actions == (
        "Acknowledge the alert in AlertManager",
        "Check service status on all instances",
        "Identify affected services and their dependencies",
        "Check recent deployments or configuration changes",
        "Verify infrastructure health (network, storage, etc.)",
    )
    assert "systemctl status labelmint-web" in service_down.commands
    database = bundled.sections[1]
    assert database.teams == "DevOps, DBA"
    assert database.immediate_actions[0] == "Check database status and connectivity"
    redis = bundled.sections[2]
    assert redis.severity == "Warning/Critical"
    assert "redis-cli FLUSHALL" in redis.commands
    assert redis.immediate_actions == ()  # it has none


def test_a_section_is_named_by_its_group_or_title_whatever_the_case_and_numbering(
    bundled: Playbook,
) -> None:
    database = bundled.sections[1]
    for name in (
        "Database Outages",
        "database outages",
        "2. Database Outages",
        "Database Connection Issues",
        "  database   connection issues ",
    ):
        assert bundled.section(name) is database, name
    assert bundled.section("Printer Fires") is None
    assert database.names() == ("Database Outages", "Database Connection Issues")
    assert bundled.section_names() == [
        "Complete Service Outage",
        "Service Down",
        "Database Outages",
        "Database Connection Issues",
        "Cache Outages",
        "Redis Issues",
        "Network Issues",
        "High Latency / Connection Issues",
    ]


def test_section_for_falls_back_to_the_section_of_an_alert(bundled: Playbook) -> None:
    assert bundled.section_for("Cache Outages") is bundled.sections[2]
    assert bundled.section_for("Unknown", ["NetworkLatency"]) is bundled.sections[3]
    assert bundled.section_for("Unknown", ["NoSuchAlert"]) is None


def test_the_bundled_playbook_lists_its_procedures_in_order_with_their_parents(
    bundled: Playbook,
) -> None:
    procedures = {p.title: p for p in bundled.procedures}
    assert [p.title for p in bundled.procedures][:7] == [
        "Overview",
        "Alert Categories",
        "1. Complete Service Outage",
        "2. Database Outages",
        "3. Cache Outages",
        "4. Network Issues",
        "Communication Procedures",
    ]
    assert len(bundled.procedures) == 37
    lines = [p.line for p in bundled.procedures]
    assert lines == sorted(lines)
    status = procedures["Status Page Updates"]
    assert (status.line, status.level, status.parent) == (203, 3, "Communication Procedures")
    assert procedures["Communication Procedures"].parent is None
    assert bundled.parent_of(status) == procedures["Communication Procedures"]
    assert bundled.parent_of(procedures["Overview"]) is None
    # The post-mortem template's "## Summary" and the code blocks' "# Check ..." comments
    # are inside fences: no procedures.
    assert "Summary" not in procedures and "Lessons Learned" not in procedures
    assert not any(p.title.startswith("Check") for p in bundled.procedures)
    # Level-4 headings are the alert sections' own, not procedures.
    assert "Service Down" not in procedures
    assert [p.title for p in bundled.procedures if p.lists_drills] == ["Drill Scenarios"]


def test_procedures_are_named_case_and_numbering_aside(bundled: Playbook) -> None:
    (database,) = bundled.procedures_named("database outages")
    assert database.title == "2. Database Outages"
    assert bundled.procedures_named("  Database   OUTAGE ")[0].line == 351
    assert bundled.procedures_named("Payment Processing") == ()
    assert bundled.procedure_hint("Payment Processing") == (
        "the closest: Payment Processing Outage; 37 in all"
    )
    assert bundled.procedure_hint("Level 2 DevOps Lead") == (
        "the closest: Level 2 (DevOps Lead); 37 in all"
    )
    assert bundled.procedure_hint("Pagers").startswith("Overview, Alert Categories, 1. Complete")


def test_procedures_skip_fenced_code_and_keep_the_sections_as_they_were() -> None:
    text = (
        "# Ops\n\n## Web\n### Web Down\n**Alert**: `WebDown`\n```bash\n# restart it\n"
        "## not a heading\n```\n~~~\n### nor this\n~~~\n#### Details\n"
        "### Rollback\n## Escalation\n### On call\n"
    )
    playbook = parse_playbook(text, FILE)
    assert [(p.title, p.line, p.level, p.parent) for p in playbook.procedures] == [
        ("Web", 3, 2, None),
        ("Web Down", 4, 3, "Web"),
        ("Rollback", 14, 3, "Web"),
        ("Escalation", 15, 2, None),
        ("On call", 16, 3, "Escalation"),
    ]
    (web,) = playbook.sections
    assert (web.group, web.title, web.commands) == (
        "Web",
        "Web Down",
        ("# restart it", "## not a heading", "### nor this"),
    )
    assert playbook.procedure_hint("x") == "Web, Web Down, Rollback, Escalation, On call"


def test_a_level_three_heading_under_the_title_alone_has_no_parent() -> None:
    text = "# Ops\n### Web\n**Alert**: `WebDown`\n## Later\n# Another title\n### Orphan\n"
    procedures = parse_playbook(text, FILE).procedures
    assert [(p.title, p.parent) for p in procedures] == [
        ("Web", None),
        ("Later", None),
        ("Orphan", None),
    ]


# -- a playbook of another team -------------------------------------------------------------


def test_a_small_custom_playbook() -> None:
    playbook = parse_playbook(SMALL_PLAYBOOK, FILE)
    web, database = playbook.sections
    assert (web.group, web.title, web.alerts, web.line) == (
        "Web Outages",
        "Web Down",
        ("WebDown",),
        5,
    )
    assert (web.severity, web.teams) == ("Critical", "Shop")
    assert web.immediate_actions == (
        "Check the web container's logs",
        "Restart the web service",
    )
    assert web.commands == ("docker compose restart web",)
    # A section right under the document's title is its own group.
    assert (database.group, database.title, database.alerts) == (
        "Database Outages",
        "Database Outages",
        ("DatabaseDown",),
    )
    assert database.immediate_actions == () and database.commands == ()
    assert playbook.drills == ("Web outage drill", "Database failover drill")
    assert playbook.alert_lines == {"WebDown": 6, "DatabaseDown": 19}
    assert playbook.section("1.1 web down") is web


def test_alerts_may_be_named_alerts_and_listed_several_per_line() -> None:
    playbook = parse_playbook(
        "# Ops\n\n## Queue\n**Alerts**: `QueueBacklog`, `QueueStuck` and `worker:down`\n", FILE
    )
    (queue,) = playbook.sections
    assert queue.alerts == ("QueueBacklog", "QueueStuck", "worker:down")
    assert playbook.drills == ()


def test_an_alert_line_in_a_code_block_is_no_section() -> None:
    text = (
        "# Ops\n\n## Web\n**Alert**: `WebDown`\n\n```markdown\n## Example\n"
        "**Alert**: `NotAnAlert`\n```\n"
    )
    playbook = parse_playbook(text, FILE)
    assert playbook.alerts == ("WebDown",)
    assert playbook.sections[0].commands == ("## Example", "**Alert**: `NotAnAlert`")


def test_a_later_heading_of_the_same_level_ends_a_section() -> None:
    text = (
        "# Ops\n## Web\n**Alert**: `WebDown`\n**Immediate Actions**:\n1. Restart\n"
        "## Escalation\n1. Call the lead\n"
    )
    (web,) = parse_playbook(text, FILE).sections
    assert web.immediate_actions == ("Restart",)


# -- errors --------------------------------------------------------------------------------------


def test_an_alert_line_without_backticked_names_names_its_line() -> None:
    message = error_of("# Ops\n\n## Web\n**Alert**: WebDown, ServiceDown\n")
    assert message.startswith("playbook.md:4: expected alert names in backticks after **Alert**:")
    assert message.endswith("got 'WebDown, ServiceDown'")


def test_a_backticked_name_that_is_no_alert_name_is_refused() -> None:
    message = error_of("# Ops\n## Web\n**Alert**: `web is down!`\n")
    assert message.startswith("playbook.md:3: expected alert names in backticks")


def test_a_playbook_without_sections_is_refused() -> None:
    message = error_of("# Ops\n\nNothing here names an alert.\n\n## Drill Scenarios\n- One\n")
    assert message == (
        "playbook.md:1: expected at least one section: a heading followed by an "
        "**Alert**: line that names its alerts in backticks"
    )
    assert error_of("").startswith("playbook.md:1: expected at least one section")


def test_an_alert_line_before_any_heading_is_refused() -> None:
    message = error_of("Intro text.\n\n**Alert**: `WebDown`\n\n# Ops\n")
    assert message == (
        "playbook.md:3: an **Alert**: line must be under a heading that names its section"
    )


def test_playbook_files_that_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(PlaybookError, match=r"nothing\.md: cannot read the playbook"):
        load_playbook(tmp_path / "nothing.md")
    latin1 = tmp_path / "latin1.md"
    latin1.write_bytes("# Ops\n## Caf\u00e9\n".encode("latin-1"))
    with pytest.raises(
        PlaybookError, match=r"latin1\.md:2: expected UTF-8 text, found the byte 0xe9"
    ):
        load_playbook(latin1)
    huge = tmp_path / "huge.md"
    with huge.open("wb") as stream:
        stream.seek(3 * 1024 * 1024)
        stream.write(b"\n")
    with pytest.raises(PlaybookError, match=r"huge\.md:1: the playbook is over 2 MiB"):
        load_playbook(huge)
