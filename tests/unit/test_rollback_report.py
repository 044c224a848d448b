"""What a rollback left behind: leftovers, differences, what the spec allows, and the version stamp."""

from __future__ import annotations

from dataclasses import replace

import pytest
from host_states import CONF, UNIT, snap

from harness.rollback.report import RollbackReport, classify, judge_stamp
from harness.state.diff import Change, compare
from harness.state.model import FileState, Package, UnitState


def items(changes: list[Change]) -> list[tuple[str, str, str]]:
    return [(c.section, c.item, c.kind) for c in changes]


def unit(name: str, **fields: str) -> UnitState:
    return replace(UNIT, name=name, **fields)


def test_what_the_current_version_added_is_a_leftover() -> None:
    new_file = replace(CONF, path="/etc/app/extra.conf")
    after = snap(
        files={CONF.path: CONF, new_file.path: new_file},
        units={UNIT.name: UNIT, "extra.timer": unit("extra.timer")},
        packages={"nut": Package("nut", "ii ", "2.8.0-7", "5.0"), "jq": Package("jq", "ii ", "1.6", "6.0")},
        cron={"/etc/cron.d/app": ("*/5 * * * * root /bin/true", "0 * * * * root /bin/extra")},
        users={"app": "999:999::/opt/app:/usr/sbin/nologin", "extra": "998:998::/:/usr/sbin/nologin"},
    )
    report = classify(compare(snap(), after), allow=[])
    assert items(report.leftovers) == [
        ("file", "/etc/app/extra.conf", "added"),
        ("unit", "extra.timer", "added"),
        ("package", "jq", "installed"),
        ("cron", "/etc/cron.d/app", "added"),
        ("user", "extra", "added"),
    ]
    assert report.differences == report.allowed == []
    assert report.failed


def test_what_is_changed_or_gone_is_a_difference() -> None:
    after = snap(
        files={CONF.path: replace(CONF, sha256="b", content=b"a = 2\n", mode="600")},
        units={UNIT.name: replace(UNIT, enabled="disabled")},
        packages={},
        cron={},
    )
    report = classify(compare(snap(), after), allow=[])
    assert items(report.differences) == [
        ("file", CONF.path, "content"),
        ("file", CONF.path, "metadata"),
        ("unit", "app.service", "state"),
        ("package", "nut", "removed"),
        ("cron", "/etc/cron.d/app", "removed"),
    ]
    assert report.leftovers == []
    assert report.failed


def test_side_effects_that_left_the_state_equal_are_not_counted() -> None:
    after = snap(
        files={CONF.path: replace(CONF, mtime="200.0")},
        units={UNIT.name: replace(UNIT, invocation="inv-2", main_pid="43")},
        packages={"nut": Package("nut", "ii ", "2.8.0-7", "7.0")},
    )
    diff = compare(snap(), after)
    assert {c.kind for c in diff.findings} == {"rewritten", "restarted", "reinstalled"}  # the diff has them
    report = classify(diff, allow=[])
    assert report.leftovers == report.differences == report.allowed == []
    assert not report.failed


def test_units_of_logins_and_devices_are_not_the_deployers() -> None:
    noisy = ["session-3.scope", "user@0.service", "dev-sda.device"]
    before = snap(units={UNIT.name: UNIT, "user-runtime-dir@0.service": unit("user-runtime-dir@0.service")})
    after = snap(units={UNIT.name: UNIT, **{name: unit(name) for name in noisy}})  # and one gone
    diff = compare(before, after)
    assert len(diff.state_changes) == 4
    report = classify(diff, allow=[])
    assert report.leftovers == report.differences == report.allowed == []


def test_a_noisy_units_state_change_is_not_counted_but_a_deployable_ones_is() -> None:
    before = snap(units={UNIT.name: UNIT, "user@0.service": unit("user@0.service")})
    after = snap(units={"user@0.service": unit("user@0.service", active="inactive")})
    report = classify(compare(before, after), allow=[])
    assert items(report.differences) == [("unit", "app.service", "removed")]


def test_items_the_spec_allows_are_warnings_of_either_kind() -> None:
    log = FileState("/var/log/app/run.log", "file", "640", "app", "app", 3, "1.0", sha256="l")
    after = snap(
        files={CONF.path: replace(CONF, sha256="b", content=b"a = 2\n"), log.path: log},
        users={},
    )
    report = classify(compare(snap(), after), allow=["/var/log/app/*", "/etc/app/*.conf"])
    assert items(report.allowed) == [
        ("file", CONF.path, "content"),
        ("file", log.path, "added"),
    ]
    assert items(report.differences) == [("user", "app", "removed")]  # not matched: still fails
    assert report.leftovers == []


def test_only_allowed_items_do_not_fail() -> None:
    after = snap(units={UNIT.name: UNIT, "extra.service": unit("extra.service")})
    report = classify(compare(snap(), after), allow=["extra.*"])
    assert items(report.allowed) == [("unit", "extra.service", "added")]
    assert not report.failed


def test_allow_patterns_match_the_whole_item_case_sensitively() -> None:
    after = snap(units={UNIT.name: UNIT, "Extra.service": unit("Extra.service")})
    report = classify(compare(snap(), after), allow=["extra.*", "Extra"])
    assert items(report.leftovers) == [("unit", "Extra.service", "added")]


def test_a_failed_stamp_alone_fails_the_report() -> None:
    assert not RollbackReport().failed
    assert RollbackReport(stamp_failed=True).failed


def change(item: str, kind: str) -> Change:
    return Change("web1", "file", item, kind, "detail")


@pytest.mark.parametrize(
    ("report", "summary"),
    [
        (RollbackReport(stamp="s"), "0 leftovers, 0 other differences; s"),
        (
            RollbackReport([change("/a", "added")], [change("/b", "content")], stamp="s"),
            "1 leftover, 1 other difference; s",
        ),
        (
            RollbackReport(
                [change("/a", "added"), change("/c", "added")],
                [change("/b", "content"), change("/d", "removed")],
                [change("/e", "added")],
                stamp="s",
            ),
            "2 leftovers, 2 other differences, 1 allowed by the spec; s",
        ),
    ],
)
def test_summary_counts_each_kind(report: RollbackReport, summary: str) -> None:
    assert report.summary() == summary


def test_lines_say_fail_or_warn_and_what_the_item_is() -> None:
    report = RollbackReport([change("/a", "added")], [change("/b", "content")], [change("/c", "removed")])
    assert report.lines() == [
        "fail: leftover web1: file /a: added, detail",
        "fail: differs web1: file /b: content, detail",
        "warn: allowed web1: file /c: removed, detail",
    ]


STAMP = "/etc/app/VERSION"


def test_no_stamp_named_is_a_note_not_a_failure() -> None:
    line, failed = judge_stamp(None, {"web1": "1"}, {"web1": "2"}, {"web1": "2"})
    assert "`rollback.stamp`" in line
    assert not failed


def test_a_stamp_back_at_the_previous_version_passes() -> None:
    line, failed = judge_stamp(STAMP, {"web1": "1"}, {"web1": "2"}, {"web1": "1"})
    assert line == f"web1: {STAMP} says '1' (previous; the current wrote '2')"
    assert not failed


def test_a_stamp_the_current_version_writes_the_same_cannot_tell() -> None:
    line, failed = judge_stamp(STAMP, {"web1": "1"}, {"web1": "1"}, {"web1": "1"})
    assert "cannot tell" in line
    assert not failed


def test_a_stamp_left_at_the_current_version_fails() -> None:
    line, failed = judge_stamp(STAMP, {"web1": "1"}, {"web1": "2"}, {"web1": "2"})
    assert line == f"web1: {STAMP} says '2' after the rollback; the previous version wrote '1'"
    assert failed


def test_a_stamp_the_previous_version_never_wrote_but_left_by_the_current_one_fails() -> None:
    line, failed = judge_stamp(STAMP, {"web1": None}, {"web1": "2"}, {"web1": "2"})
    assert line == f"web1: {STAMP} says '2' after the rollback; the previous version wrote none"
    assert failed


def test_no_stamp_after_rolling_back_to_a_version_that_writes_none_passes() -> None:
    line, failed = judge_stamp(STAMP, {"web1": None}, {"web1": "2"}, {"web1": None})
    assert line == f"web1: no {STAMP}, as the previous version left it (the current wrote '2')"
    assert not failed


def test_a_stamp_missing_after_the_rollback_fails() -> None:
    line, failed = judge_stamp(STAMP, {"web1": "1"}, {"web1": "2"}, {"web1": None})
    assert line == f"web1: {STAMP} is missing after the rollback"
    assert failed


@pytest.mark.parametrize("stamps", [{}, {"web1": None}])
def test_a_stamp_no_machine_has_fails(stamps: dict[str, str | None]) -> None:
    line, failed = judge_stamp(STAMP, stamps, stamps, stamps)
    assert line == f"no machine has {STAMP}"
    assert failed


def test_machines_without_the_stamp_are_skipped_and_the_rest_judged() -> None:
    line, failed = judge_stamp(
        STAMP, {"web1": "1", "db1": None}, {"web1": "2", "db1": None}, {"web1": "1", "db1": None}
    )
    assert line == f"web1: {STAMP} says '1' (previous; the current wrote '2')"
    assert not failed


def test_several_machines_are_judged_in_order_and_any_failure_fails() -> None:
    first: dict[str, str | None] = {"web2": "1", "web1": "1"}
    line, failed = judge_stamp(STAMP, first, {"web2": "2", "web1": "2"}, {"web2": "2", "web1": "1"})
    assert line == (
        f"web1: {STAMP} says '1' (previous; the current wrote '2'); "
        f"web2: {STAMP} says '2' after the rollback; the previous version wrote '1'"
    )
    assert failed
