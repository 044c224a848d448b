"""The drift suite against deployers that are right and wrong on purpose (tests/deployers/drift-*).

One pytest run with two workers: the matrix must reach JUnit XML through xdist. Its mutations run on as many
lanes (clones of the converged machine) as the engine has CPUs; a second run on one lane must give the same
matrix, row for row.
"""

from __future__ import annotations

import json

import pytest
from pytest_runs import Suite, leftovers, run_suite

DEPLOYERS = ["drift-good", "drift-blind", "drift-sloppy", "drift-nocheck", "drift-addressed"]
MUTATIONS = 20  # 4 files x 4, the link, the unit stopped and disabled, the cron entry


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Suite:
    suite = run_suite(
        tmp_path_factory.mktemp("drift") / "report.xml", "drift", DEPLOYERS, "--drift=full", "--drift-workers=2"
    )
    assert suite.code == 1, suite.output  # some are wrong on purpose
    return suite


@pytest.fixture(scope="module")
def serial(tmp_path_factory: pytest.TempPathFactory) -> Suite:
    report = tmp_path_factory.mktemp("drift-serial") / "report.xml"
    return run_suite(report, "drift", ["drift-good", "drift-sloppy"], "--drift=full", "--drift-workers=1")


def matrix(case: dict[str, list[str]]) -> dict[str, tuple[str, str]]:
    """`<mutation> <item>` -> (detected, healed)."""
    rows = json.loads(case["drift_data"][0])
    return {f"{r['mutation']} {r['item']}": (r["detected"], r["healed"]) for r in rows}


def verdicts(case: dict[str, list[str]]) -> list[dict[str, object]]:
    """The matrix's rows without what differs run to run: times, and the evidence's text (Job names, times)."""
    rows = json.loads(case["drift_data"][0])
    return [
        {**{k: v for k, v in row.items() if k not in ("heal_seconds", "evidence")},
         "evidence": [piece["title"] for piece in row["evidence"]]}
        for row in rows
    ]  # fmt: skip


def test_lanes_side_by_side_give_the_serial_matrix_row_for_row(suite: Suite, serial: Suite) -> None:
    for name in ("drift-good", "drift-sloppy"):  # the sloppy one leaves mutations for the lanes to put back
        assert "on 2 lanes" in suite.cases[name]["drift_run"][0], suite.cases[name]["drift_run"]
        assert serial.cases[name]["drift_run"] == [f"full tier, all {MUTATIONS} mutations, on 1 lane"]
        assert verdicts(suite.cases[name]) == verdicts(serial.cases[name])
        assert suite.cases[name]["drift"] == serial.cases[name]["drift"]
    assert leftovers(serial.run) == []


def test_clones_a_deployer_leaves_unlike_its_machine_take_no_rows_and_every_row_is_the_machines(suite: Suite) -> None:
    """drift-addressed writes the address it reached the host at: every apply on a clone leaves the clone unlike
    the machine. The first row a clone ran proves it so; that row runs again on the machine, with all the others."""
    case = suite.cases["drift-addressed"]
    (note,) = [f for f in case["finding"] if "clones take no rows" in f]
    assert note.startswith("warn: drift: clones take no rows: an apply leaves a clone of web1 unlike the machine")
    assert "/etc/drift/listen" in note
    rows = matrix(case)
    assert {healed for _, healed in rows.values()} == {"yes"}  # as on the machine: the clone's rows are not kept
    assert rows["edit /etc/drift/app.conf"] == ("yes", "yes")
    assert rows["edit /etc/drift/listen"] == ("MISSED", "yes")  # its check does not look at it
    assert case["outcome"] == ["failed"]


def test_a_good_check_and_deployer_pass_every_derived_mutation(suite: Suite) -> None:
    case = suite.cases["drift-good"]
    assert case["outcome"] == ["passed"]
    rows = matrix(case)
    assert len(rows) == MUTATIONS  # the spec leaves one derived mutation out and adds one of its own
    assert set(rows.values()) == {("yes", "yes")}
    assert "chown /etc/cron.d/drift" not in rows
    assert rows["custom token-rotated-by-hand"] == ("yes", "yes")
    for expected in (
        "edit /etc/drift/app.conf",
        "delete /var/lib/drift/run.sh",
        "chmod /etc/drift/app.conf",
        "chown /etc/systemd/system/drift.service",
        "replace-symlink /usr/local/bin/drift-run",
        "stop drift.service",
        "disable drift.service",
        "remove-cron /etc/cron.d/drift",
    ):
        assert expected in rows, sorted(rows)
    assert case["drift"] == [f"{MUTATIONS} mutations on 1 machine: {MUTATIONS} detected, {MUTATIONS} healed"]


def test_a_check_that_always_passes_misses_every_mutation_it_is_run_against(suite: Suite) -> None:
    case = suite.cases["drift-blind"]
    assert case["outcome"] == ["failed"]
    assert {detected for detected, _ in matrix(case).values()} == {"MISSED"}
    assert f"the drift check missed every mutation it was run against (0 of {MUTATIONS} detected)" in case["drift"][0]
    assert "drift-blind / drift: " in suite.output


def test_a_vague_check_and_a_deployer_that_does_not_fix_modes_are_named(suite: Suite) -> None:
    case = suite.cases["drift-sloppy"]
    assert case["outcome"] == ["failed"]
    rows = matrix(case)
    assert {detected for detected, _ in rows.values()} == {"not named"}  # it fails, and never says on what
    not_healed = {key for key, (_, healed) in rows.items() if healed != "yes"}
    assert not_healed == {
        f"{kind} {path}"
        for kind in ("chmod", "chown")
        for path in (
            "/etc/cron.d/drift",
            "/etc/drift/app.conf",
            "/etc/systemd/system/drift.service",
            "/var/lib/drift/run.sh",
        )
    }
    assert rows["chmod /etc/drift/app.conf"][1] == "NO: web1: file /etc/drift/app.conf: metadata, mode 640 -> 600"
    # After an unhealed mutation the harness puts the host back: the next mutation is judged on its own.
    assert rows["edit /etc/drift/app.conf"][1] == "yes"


def test_each_failing_row_carries_its_evidence_beside_its_verdict(suite: Suite) -> None:
    rows = json.loads(suite.cases["drift-sloppy"]["drift_data"][0])
    unnamed = [row for row in rows if row["detected"] == "not named"]
    assert unnamed and all(row["is_detected"] is True and row["is_named"] is False for row in unnamed)
    # what a user needs to fix the check: what it printed, for every row judged "not named"
    assert all(any("drift found" in piece["text"] for piece in row["evidence"]) for row in unnamed)
    kept = next(row for row in rows if (row["mutation"], row["item"]) == ("chmod", "/etc/drift/app.conf"))
    assert kept["is_healed"] is False and kept["heal_seconds"] is None
    evidence = {piece["title"]: piece["text"] for piece in kept["evidence"]}
    assert "file /etc/drift/app.conf: metadata, mode 640 -> 600" in evidence["after healing"]
    assert evidence["the healing apply"].startswith("Job ")  # its attempts and their logs
    # the terminal (and JUnit) show it where the verdict is
    assert "drift: the evidence of each failing row" in suite.output
    assert "    | drift found" in suite.output
    assert "drift-secret-token-51ab" not in suite.junit


def test_without_a_check_only_healing_is_judged_with_a_note(suite: Suite) -> None:
    case = suite.cases["drift-nocheck"]
    assert case["outcome"] == ["passed"]
    assert set(matrix(case).values()) == {("no check", "yes")}
    assert case["drift"] == [
        f"{MUTATIONS} mutations on 1 machine: {MUTATIONS} healed; no drift check in the spec, so healing only"
    ]


def test_the_matrix_is_in_the_terminal_summary_and_secrets_are_masked(suite: Suite) -> None:
    assert "web1: chmod /etc/drift/app.conf (mode 640 -> 600)" in suite.output
    assert "drift-secret-token-51ab" not in suite.output
    assert "drift-secret-token-51ab" not in suite.junit


def test_nothing_is_left_behind(suite: Suite) -> None:
    assert leftovers(suite.run) == []
