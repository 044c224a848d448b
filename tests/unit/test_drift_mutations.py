"""Drift mutations derived from a snapshot (their scripts run for real in a temp dir) and the drift report."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from harness.deployer.sections import CustomMutation
from harness.drift import mutations
from harness.drift.matrix import DETECTED, MISSED, NO_CHECK, UNNAMED, Detection, DriftReport, Healing, Row
from harness.drift.mutations import Mutation, custom_mutations, derive_mutations, excluded, short_unit_names, spread
from harness.drift.targets import quick
from harness.state.model import FileState, Snapshot, UnitState


def regular(path: str | Path, mode: str = "644", owner: str = "root") -> FileState:
    return FileState(str(path), "file", mode, owner, "root", 10, "1.0", sha256="x")


def link(path: str | Path, target: str = "/elsewhere") -> FileState:
    return FileState(str(path), "symlink", "777", "root", "root", 0, "1.0", target=target)


def directory(path: str | Path) -> FileState:
    return FileState(str(path), "dir", "755", "root", "root", 4096, "1.0")


def snapshot(*files: FileState, **fields: object) -> Snapshot:
    snap = Snapshot("pve1", files={f.path: f for f in files})
    for key, value in fields.items():
        setattr(snap, key, value)
    return snap


def by_kind(found: list[Mutation]) -> dict[str, Mutation]:
    assert len({m.kind for m in found}) == len(found), "one mutation of each kind expected"
    return {m.kind: m for m in found}


def run(mutation: Mutation) -> None:
    done = subprocess.run(["sh", "-c", mutation.script], capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode()


# --- derived from a snapshot ---


def test_a_regular_file_is_edited_deleted_chmodded_and_chowned() -> None:
    found = derive_mutations(snapshot(regular("/etc/nut/ups.conf")))
    assert [m.kind for m in found] == ["edit", "delete", "chmod", "chown"]
    assert {(m.machine, m.item, m.names) for m in found} == {("pve1", "/etc/nut/ups.conf", ("/etc/nut/ups.conf",))}


@pytest.mark.parametrize(
    ("mode", "owner", "new_mode", "new_owner"),
    [("644", "root", "600", "nobody"), ("600", "nobody", "644", "root"), ("755", "nut", "600", "nobody")],
)
def test_chmod_and_chown_always_change_the_mode_and_owner(mode: str, owner: str, new_mode: str, new_owner: str) -> None:
    found = by_kind(derive_mutations(snapshot(regular("/etc/app.conf", mode, owner))))
    assert found["chmod"].script == f"chmod {new_mode} -- /etc/app.conf"
    assert found["chmod"].detail == f"mode {mode} -> {new_mode}"
    assert found["chown"].script == f"chown {new_owner} -- /etc/app.conf"
    assert found["chown"].detail == f"owner {owner} -> {new_owner}"


def test_a_symlink_is_replaced_but_systemd_enablement_links_are_left_to_disable() -> None:
    found = derive_mutations(
        snapshot(
            link("/etc/nut/current", "/etc/nut/v2"),
            link("/etc/systemd/system/multi-user.target.wants/nut-server.service"),
            link("/etc/systemd/system/nut.target.requires/nut-driver.service"),
        )
    )
    assert [(m.kind, m.item, m.detail) for m in found] == [
        ("replace-symlink", "/etc/nut/current", "was a link to /etc/nut/v2")
    ]


def test_a_symlink_in_systemd_system_that_is_not_an_enablement_link_is_replaced() -> None:
    found = derive_mutations(snapshot(link("/etc/systemd/system/nut-alias.service")))
    assert [m.kind for m in found] == ["replace-symlink"]


def test_directories_get_no_mutation() -> None:
    assert derive_mutations(snapshot(directory("/etc/nut"))) == []


@pytest.mark.parametrize(
    ("active", "enabled", "kinds"),
    [
        ("active", "enabled", ["stop", "disable"]),
        ("active", "disabled", ["stop"]),
        ("inactive", "enabled", ["disable"]),
        ("failed", "static", []),
        ("activating", "enabled-runtime", []),
    ],
)
def test_units_are_stopped_only_when_active_and_disabled_only_when_enabled(
    active: str, enabled: str, kinds: list[str]
) -> None:
    unit = UnitState("nut-server.service", "loaded", active, "", enabled)
    found = derive_mutations(snapshot(units={unit.name: unit}))
    assert [m.kind for m in found] == kinds
    assert all(m.item == "nut-server.service" for m in found)


def test_unit_scripts_name_the_unit() -> None:
    unit = UnitState("nut-server.service", "loaded", "active", "running", "enabled")
    found = by_kind(derive_mutations(snapshot(units={unit.name: unit})))
    assert found["stop"].script == "systemctl stop -- nut-server.service"
    assert found["disable"].script == "systemctl disable --quiet -- nut-server.service"


def test_only_entries_of_managed_crontabs_are_removed_never_their_settings() -> None:
    cron = {
        "/etc/cron.d/pve-nut": ("SHELL=/bin/bash", "MAILTO =root", "*/5 * * * * root /opt/report", "@reboot root x"),
        "/etc/cron.d/unmanaged": ("0 1 * * * root other",),
    }
    found = derive_mutations(snapshot(regular("/etc/cron.d/pve-nut"), cron=cron))
    removed = [m for m in found if m.kind == "remove-cron"]
    assert [(m.item, m.detail) for m in removed] == [
        ("/etc/cron.d/pve-nut", "*/5 * * * * root /opt/report"),
        ("/etc/cron.d/pve-nut", "@reboot root x"),
    ]
    assert removed[0].names == ("/etc/cron.d/pve-nut", "*/5 * * * * root /opt/report")


def test_a_crontab_that_is_not_a_watched_file_gets_no_cron_mutation() -> None:
    assert derive_mutations(snapshot(cron={"/etc/crontab": ("0 1 * * * root x",)})) == []


def test_a_duplicated_cron_entry_yields_one_mutation() -> None:
    entry = "0 1 * * * root x"
    found = derive_mutations(snapshot(regular("/etc/crontab"), cron={"/etc/crontab": (entry, entry)}))
    assert [m.detail for m in found if m.kind == "remove-cron"] == [entry]


def test_mutations_come_in_a_stable_order_files_units_then_cron() -> None:
    unit = UnitState("b.service", "loaded", "active", "running", "disabled")
    snap = snapshot(regular("/z"), regular("/a"), units={unit.name: unit}, cron={"/z": ("0 1 * * * root x",)})
    assert [m.id for m in derive_mutations(snap)] == [
        "edit /a",
        "delete /a",
        "chmod /a",
        "chown /a",
        "edit /z",
        "delete /z",
        "chmod /z",
        "chown /z",
        "stop b.service",
        "remove-cron /z 0 1 * * * root x",  # each entry an id of its own, so `drift.exclude` can name one
    ]


def test_the_id_is_kind_and_item() -> None:
    assert Mutation("pve1", "chmod", "/etc/nut/ups.conf", "true", ()).id == "chmod /etc/nut/ups.conf"


def test_a_unit_is_named_in_the_forms_systemctl_reads() -> None:
    unit = UnitState("nut-server.service", "loaded", "active", "running", "")
    (stop,) = derive_mutations(snapshot(units={unit.name: unit}))
    assert (stop.names, stop.short_names) == (("nut-server.service",), ("nut-server",))
    assert stop.named_in("drift: nut-server.service is inactive")
    assert stop.named_in("DRIFT unit nut-server")  # systemctl reads a bare name as the .service unit
    assert stop.named_in("DRIFT unit nut-server", vocabulary="ok unit nut-server")  # not a plain word
    assert not stop.named_in("drift: nut-server-extra is not running")
    assert not stop.named_in("drift: nut-server.socket is not running")


def test_a_short_name_that_is_a_plain_word_of_the_check_does_not_name_the_unit() -> None:
    unit = UnitState("drift.service", "loaded", "active", "running", "")
    (stop,) = derive_mutations(snapshot(units={unit.name: unit}))
    said = "drift deployer: check on 192.0.2.5"  # what the check says when nothing drifted
    assert not stop.named_in("drift found", vocabulary=said)
    assert stop.named_in("drift.service: not running", vocabulary=said)
    assert stop.named_in("DRIFT unit drift", vocabulary="no changes")


@pytest.mark.parametrize(
    ("unit", "short"),
    [
        ("nut-server.service", ("nut-server",)),
        ("nut-driver.target", ()),  # `nut-driver` would be nut-driver.service
        ("nut-driver@ups1.service", ("nut-driver@ups1",)),
        ("cron.timer", ()),
        (".service", ()),
    ],
)
def test_only_a_service_may_be_named_without_its_suffix(unit: str, short: tuple[str, ...]) -> None:
    assert short_unit_names(unit) == short


@pytest.mark.parametrize(
    ("output", "named"),
    [
        ("/etc/cron.d/x: entry removed", True),
        ("drift in /etc/cron.d/x.", True),
        ("'/etc/cron.d/x' differs", True),
        ("/etc/cron.d/x-report: entry removed", False),
        ("/etc/cron.d/x.dpkg-old is new", False),
        ("/backup/etc/cron.d/x differs", False),
        ("/etc/cron.d/xy differs", False),
    ],
)
def test_a_name_counts_only_when_it_appears_whole(output: str, named: bool) -> None:
    assert Mutation("pve1", "delete", "/etc/cron.d/x", "true", ("/etc/cron.d/x",)).named_in(output) is named


def test_named_in_matches_any_of_the_names() -> None:
    mutation = Mutation("pve1", "custom", "on-mains", "true", ("ups.status", "battery"))
    assert mutation.named_in("upsc says battery low")
    assert mutation.named_in("ups.status is OB")
    assert not mutation.named_in("drift: on-mains")  # the item is not one of its names


@pytest.mark.parametrize(
    ("patterns", "expected"),
    [
        (["chmod /etc/nut/*"], True),
        (["* /etc/nut/ups.conf"], True),
        (["chown /etc/nut/*"], False),
        (["chmod /etc/nut"], False),
        (["CHMOD /etc/nut/*"], False),  # case matters
        ([], False),
    ],
)
def test_excluded_matches_patterns_against_the_id(patterns: list[str], expected: bool) -> None:
    assert excluded(Mutation("pve1", "chmod", "/etc/nut/ups.conf", "true", ()), patterns) is expected


def test_a_custom_mutation_without_machine_runs_on_every_machine() -> None:
    custom = [
        CustomMutation("everywhere", None, "touch /x", ("x",)),
        CustomMutation("only-pve2", "pve2", "touch /y", ("y",)),
    ]
    found = custom_mutations(custom, ["pve1", "pve2"])
    assert [(m.machine, m.kind, m.item, m.script, m.names) for m in found] == [
        ("pve1", "custom", "everywhere", "touch /x", ("x",)),
        ("pve2", "custom", "everywhere", "touch /x", ("x",)),
        ("pve2", "custom", "only-pve2", "touch /y", ("y",)),
    ]


def test_a_custom_mutation_for_another_machine_yields_nothing() -> None:
    assert custom_mutations([CustomMutation("m", "pve9", "true", ("m",))], ["pve1"]) == []


# --- the scripts, run for real on files under tmp_path ---


@pytest.fixture
def conf(tmp_path: Path) -> Path:
    path = tmp_path / "it's a dir" / "app.conf"  # quoting: a space and a quote in the path
    path.parent.mkdir()
    path.write_text("a = 1\n")
    path.chmod(0o644)
    return path


def test_edit_appends_a_marked_line(conf: Path) -> None:
    run(by_kind(derive_mutations(snapshot(regular(conf))))["edit"])
    assert conf.read_text().startswith("a = 1\n")
    assert conf.read_text().splitlines()[-1] == f"# {mutations.MARK}"


def test_delete_removes_the_file(conf: Path) -> None:
    run(by_kind(derive_mutations(snapshot(regular(conf))))["delete"])
    assert not conf.exists()
    assert conf.parent.is_dir()


@pytest.mark.parametrize(("mode", "expected"), [(0o644, 0o600), (0o600, 0o644)])
def test_chmod_sets_the_mode(conf: Path, mode: int, expected: int) -> None:
    conf.chmod(mode)
    run(by_kind(derive_mutations(snapshot(regular(conf, f"{mode:o}"))))["chmod"])
    assert stat.S_IMODE(os.stat(conf).st_mode) == expected


def test_chown_script_quotes_the_path(conf: Path) -> None:
    chown = by_kind(derive_mutations(snapshot(regular(conf))))["chown"]
    assert chown.script == f"chown nobody -- '{conf.parent.parent}/it'\"'\"'s a dir/app.conf'"


def test_replace_symlink_leaves_a_regular_file(tmp_path: Path) -> None:
    target = tmp_path / "target.conf"
    target.write_text("real\n")
    path = tmp_path / "current"
    path.symlink_to(target)
    (mutation,) = derive_mutations(snapshot(link(path, str(target))))
    run(mutation)
    assert not path.is_symlink() and path.is_file()
    assert mutations.MARK in path.read_text()
    assert target.read_text() == "real\n"  # the link's target is untouched


CRONTAB = (
    "# m h dom mon dow user command\n"
    "SHELL=/bin/sh\n"
    "MAILTO=root\n"
    "*/5\t*  * * *   root  /opt/report --all\n"
    "0 1 * * * root /opt/other\n"
    "*/5 * * * * root /opt/report --all\n"
)


def crontab_snapshot(path: Path) -> Snapshot:
    """As the snapshot command reads a crontab: comments dropped, fields squeezed."""
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return snapshot(regular(path, "640"), cron={str(path): tuple(" ".join(line.split()) for line in lines)})


def remove_cron(path: Path, entry: str) -> Mutation:
    found = [m for m in derive_mutations(crontab_snapshot(path)) if m.kind == "remove-cron" and m.detail == entry]
    assert len(found) == 1
    return found[0]


def test_remove_cron_removes_only_the_first_matching_line_whatever_its_spacing(tmp_path: Path) -> None:
    path = tmp_path / "pve-nut"
    path.write_text(CRONTAB)
    path.chmod(0o640)
    inode = os.stat(path).st_ino
    run(remove_cron(path, "*/5 * * * * root /opt/report --all"))
    assert path.read_text() == CRONTAB.replace("*/5\t*  * * *   root  /opt/report --all\n", "")
    assert os.stat(path).st_ino == inode
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_remove_cron_fails_and_leaves_a_file_without_the_entry_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "pve-nut"
    path.write_text(CRONTAB)
    mutation = remove_cron(path, "0 1 * * * root /opt/other")
    path.write_text("0 2 * * * root /opt/other\n")
    done = subprocess.run(["sh", "-c", mutation.script], capture_output=True, check=False)
    assert done.returncode == 1  # a mutation that changes nothing must not pass for one
    assert path.read_text() == "0 2 * * * root /opt/other\n"
    assert list(tmp_path.iterdir()) == [path]


def test_remove_cron_reads_backslashes_and_percent_signs_literally(tmp_path: Path) -> None:
    path = tmp_path / "stamp"
    text = "0 1 * * * root date +\\%s > /tmp/x\n0 2 * * * root date +%s\\n\n"
    path.write_text(text)
    run(remove_cron(path, "0 1 * * * root date +\\%s > /tmp/x"))
    assert path.read_text() == "0 2 * * * root date +%s\\n\n"
    run(remove_cron(path, "0 2 * * * root date +%s\\n"))
    assert path.read_text() == ""


def test_remove_cron_ignores_a_crlf_line_ending(tmp_path: Path) -> None:
    path = tmp_path / "dos"
    path.write_bytes(b"0 1 * * * root /opt/a\r\n0 2 * * * root /opt/b\r\n")
    run(remove_cron(path, "0 1 * * * root /opt/a"))
    assert path.read_bytes() == b"0 2 * * * root /opt/b\r\n"


# --- the report ---


def row(detected: str, healed: str = "yes", machine: str = "pve1", kind: str = "chmod", item: str = "/a") -> Row:
    """A row as the matrix shows it: `detected` and `healed` are its two columns."""
    detail = {"chmod": "mode 644 -> 600", "edit": "a line added"}.get(kind, "")
    mutation = Mutation(machine, kind, item, "true", (item,), detail)
    if detected.startswith("mutation failed"):
        return Row(mutation, unjudged=detected, made=False)
    healing = None if healed == "not run" else Healing([] if healed == "yes" else [healed.removeprefix("NO: ")])
    return Row(mutation, Detection(detected), healing)


def mask(text: str) -> str:
    return text.replace("s3cret", "****")


def test_summary_counts_detections_and_healing() -> None:
    report = DriftReport(
        True,
        [row(DETECTED), row(DETECTED, "NO: mode 600", machine="pve2"), row(UNNAMED), row(MISSED, "NO: gone")],
    )
    assert report.summary() == ("4 mutations on 2 machines: 2 detected, 1 failed without naming what drifted, 2 healed")


def test_summary_of_a_single_mutation_is_singular() -> None:
    assert DriftReport(True, [row(DETECTED)]).summary() == "1 mutation on 1 machine: 1 detected, 1 healed"


def test_summary_calls_a_check_that_missed_everything_blind() -> None:
    report = DriftReport(True, [row(MISSED), row(MISSED, "NO: x"), row(MISSED, machine="pve2")])
    assert report.summary() == (
        "3 mutations on 2 machines: the drift check missed every mutation it was run against (0 of 3 detected),"
        " 2 healed"
    )


def test_summary_is_not_blind_when_the_check_failed_without_naming() -> None:
    summary = DriftReport(True, [row(MISSED), row(UNNAMED)]).summary()
    assert "blind" not in summary
    assert "0 detected, 1 failed without naming what drifted" in summary


def test_summary_counts_mutations_that_could_not_be_made_and_never_calls_the_check_blind_for_them() -> None:
    failed = "mutation failed (exit 1): nope"
    report = DriftReport(True, [row(failed, failed), row(DETECTED)])
    assert report.summary() == "2 mutations on 1 machine: 1 detected, 1 healed, 1 could not be made"
    assert "blind" not in DriftReport(True, [row(failed, failed)]).summary()
    blind = DriftReport(True, [row(failed, failed), row(MISSED)]).summary()
    assert "missed every mutation it was run against (0 of 1 detected)" in blind


def test_summary_without_a_drift_check_is_about_healing_only() -> None:
    report = DriftReport(False, [row(NO_CHECK), row(NO_CHECK, "NO: x")])
    assert report.summary() == "2 mutations on 1 machine: 1 healed; no drift check in the spec, so healing only"


@pytest.mark.parametrize(
    ("detected", "healed", "failed"),
    [
        (DETECTED, "yes", False),
        (NO_CHECK, "yes", False),
        (DETECTED, "NO: mode 600", True),
        (NO_CHECK, "NO: the apply failed", True),
        (UNNAMED, "yes", True),
        (MISSED, "yes", True),
        ("not run", "not run", True),
        ("not run", "yes", True),
        ("mutation failed (exit 1): x", "mutation failed (exit 1): x", True),
    ],
)
def test_a_row_fails_unless_detected_or_unchecked_and_healed(detected: str, healed: str, failed: bool) -> None:
    assert row(detected, healed).failed is failed


def test_failures_are_the_failed_rows() -> None:
    report = DriftReport(True, [row(DETECTED), row(MISSED, item="/b"), row(DETECTED, "NO: x", item="/c")])
    assert [r.mutation.item for r in report.failures] == ["/b", "/c"]


def test_the_table_masks_items_and_healing_and_aligns_its_columns() -> None:
    report = DriftReport(
        True,
        [
            row(DETECTED, item="/etc/s3cret.conf"),
            row(MISSED, "NO: /etc/s3cret.conf differs", kind="edit", item="/etc/s3cret.conf"),
        ],
    )
    lines = report.table(mask).splitlines()
    assert "s3cret" not in "\n".join(lines)
    assert lines[1].split("  ")[0] == "pve1: chmod /etc/****.conf (mode 644 -> 600)"
    assert lines[2].split("  ")[0] == "pve1: edit /etc/****.conf"  # an edit's detail says nothing: left out
    assert lines[2].endswith("NO: /etc/****.conf differs")
    columns = {line.index(word) for line, word in zip(lines, ["detected", DETECTED, MISSED], strict=True)}
    assert len(columns) == 1


def test_the_table_of_an_empty_report_is_its_header() -> None:
    assert DriftReport(True).table(mask) == "mutation  detected    healed"


def test_data_masks_items_details_and_healing() -> None:
    mutation = Mutation("pve1", "remove-cron", "/etc/cron.d/s3cret", "true", (), "0 1 * * * root x --pw s3cret")
    report = DriftReport(True, [Row(mutation, DETECTED, Healing(["s3cret stays"]))])
    assert report.to_data(mask) == [
        {
            "machine": "pve1",
            "mutation": "remove-cron",
            "item": "/etc/cron.d/****",
            "detail": "0 1 * * * root x --pw ****",
            "detected": DETECTED,
            "healed": "NO: **** stays",
            "failed": True,
            "is_detected": True,
            "is_named": True,
            "is_healed": False,
            "heal_seconds": None,
            "evidence": [{"title": "after healing", "text": "**** stays"}],
        }
    ]


def test_data_gives_the_verdicts_as_values_and_the_time_to_heal() -> None:
    healed = Row(Mutation("pve1", "chmod", "/a", "true", ("/a",)), DETECTED, Healing([], seconds=2.345))
    unnamed = Row(Mutation("pve1", "chmod", "/b", "true", ("/b",)), UNNAMED, Healing([]), check_output="drift!")
    unchecked = Row(Mutation("pve1", "stop", "x.service", "true", ("x.service",)), NO_CHECK, Healing([]))
    unchecked.phases["heal"] = 7.0
    failed = "mutation failed (exit 1): nope"
    unmade = Row(Mutation("pve1", "chmod", "/c", "true", ("/c",)), unjudged=failed, made=False)
    data = DriftReport(True, [healed, unnamed, unchecked, unmade]).to_data(mask)
    values = [(d["is_detected"], d["is_named"], d["is_healed"], d["heal_seconds"], d["failed"]) for d in data]
    assert values == [
        (True, True, True, 2.35, False),
        (True, False, True, None, True),
        (None, None, True, 7.0, False),
        (None, None, None, None, True),
    ]
    assert data[0]["evidence"] == [] and data[2]["evidence"] == []  # a passing row needs none
    assert data[1]["evidence"] == [
        {
            "title": "output that failed without naming it (the lines not printed on the converged host)",
            "text": "drift!",
        }
    ]
    assert data[3]["evidence"] == [{"title": "why it could not be judged", "text": failed}]


def test_the_evidence_shows_unnamed_rows_first_then_unhealed_ones_then_missed_ones() -> None:
    missed = Row(Mutation("pve1", "chmod", "/m", "true", ("/m",)), MISSED, Healing([]), check_output="ssh: warning")
    broken = Row(
        Mutation("pve1", "chmod", "/h", "true", ("/h",)),
        DETECTED,
        Healing(["the apply failed (exit 1)"], applied="Job x: failed\n    | rm: cannot remove '/h': s3cret"),
        check_output="/h drifted",
    )
    unnamed = Row(
        Mutation("pve1", "edit", "/u", "true", ("/u",)), UNNAMED, Healing([]), check_output="x\nbad", judged="bad"
    )
    text = DriftReport(True, [missed, broken, unnamed]).evidence_text(mask)
    assert text is not None and "s3cret" not in text
    assert text.index("edit /u") < text.index("chmod /h") < text.index("chmod /m")
    assert "    | bad" in text and "    | x" not in text  # the lines the check says only after the mutation
    assert "  the healing apply:\n    | Job x: failed\n    |     | rm: cannot remove '/h': ****" in text
    assert "  the drift check passed; its output:\n    | ssh: warning" in text


def test_the_evidence_is_cut_to_its_last_lines_and_its_first_rows() -> None:
    output = "\n".join(f"line {n}" for n in range(30))
    rows = [
        Row(Mutation("pve1", "chmod", f"/{n}", "true", (f"/{n}",)), MISSED, Healing([]), check_output=output)
        for n in range(3)
    ]
    text = DriftReport(True, rows).evidence_text(mask, rows=2, lines=5)
    assert text is not None
    assert "(last 5 of 30 lines)" in text and "| line 29" in text and "| line 24" not in text
    assert text.endswith("... 1 more failing row(s): every row's evidence is in --deployer-json")
    assert DriftReport(True, [row(DETECTED)]).evidence_text(mask) is None


# --- DaemonSets: each distinct mutation once, the nodes in turn ---


def test_spread_makes_each_distinct_mutation_once_taking_the_nodes_in_turn() -> None:
    nodes = [snapshot(regular("/etc/a"), machine=name) for name in ("cp1", "w1", "w2")]
    spread_out = spread([m for node in nodes for m in derive_mutations(node)])
    assert [(m.machine, m.id) for m in spread_out] == [
        ("cp1", "edit /etc/a"),
        ("w1", "delete /etc/a"),
        ("w2", "chmod /etc/a"),
        ("cp1", "chown /etc/a"),
    ]


def test_spread_keeps_a_mutation_only_one_node_has_on_that_node() -> None:
    only_w2 = UnitState("gpu.service", "loaded", "active", "running", "enabled")
    nodes = [snapshot(machine="w1"), snapshot(units={only_w2.name: only_w2}, machine="w2")]
    assert [(m.machine, m.id) for m in spread([m for n in nodes for m in derive_mutations(n)])] == [
        ("w2", "stop gpu.service"),
        ("w2", "disable gpu.service"),
    ]


def test_the_quick_tier_sees_every_directory_and_kind_once_every_unit_once_and_every_cron_and_custom_one() -> None:
    files = {
        path: FileState(path, "file", "644", "root", "root", 1, "1.0", content=b"x")
        for path in ("/etc/app/a.conf", "/etc/app/b.conf", "/opt/app/run.sh", "/etc/cron.d/app")
    }
    units = {name: UnitState(name, active="active", enabled="enabled") for name in ("a.service", "b.service")}
    units["c.service"] = UnitState("c.service", active="active", enabled="static")  # nothing to disable
    snapshot = Snapshot("pve1", files=files, units=units, cron={"/etc/cron.d/app": ["* * * * * root true"]})
    every = derive_mutations(snapshot) + custom_mutations([CustomMutation("by-hand", None, "true", ("/x",))], ["pve1"])
    chosen = quick(every)
    assert [m.id for m in chosen] == [
        "edit /etc/app/a.conf",  # a directory each, the kinds in turn
        "chown /etc/app/b.conf",  # the kind still missing: on a file not sampled yet
        "delete /etc/cron.d/app",
        "chmod /opt/app/run.sh",
        "stop a.service",  # every unit once, the kinds in turn
        "disable b.service",
        "stop c.service",
        "remove-cron /etc/cron.d/app * * * * * root true",
        "custom by-hand",
    ]
    assert set(chosen) < set(every)


def test_the_quick_tier_stops_and_disables_a_machines_only_unit() -> None:
    units = {"app.service": UnitState("app.service", active="active", enabled="enabled")}
    chosen = quick(derive_mutations(Snapshot("pve1", units=units)))
    assert [m.id for m in chosen] == ["stop app.service", "disable app.service"]
