import re
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.scenario.model import load_scenario, scenarios_for


def test_shipped_scenarios_load() -> None:
    names = {s.name for s in scenarios_for()}
    assert "converge" in names


def test_a_deployer_may_add_its_own_scenario(tmp_path: Path) -> None:
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "twice.yaml").write_text("name: twice\nsteps: [apply, apply, verify]\n")
    scenarios = {s.name: s for s in scenarios_for(tmp_path)}
    assert scenarios["twice"].steps == ("apply", "apply", "verify")
    assert "converge" in scenarios


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ("[apply, reboot]", "`steps[1]` is 'reboot', which is not a step"),
        ("[{apply: x}]", "`steps[0]` is"),
        ("[]", "`steps` must be a non-empty list"),
    ],
)
def test_bad_steps_are_named(tmp_path: Path, steps: str, expected: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(f"name: bad\nsteps: {steps}\n")
    with pytest.raises(HarnessError) as raised:
        load_scenario(path)
    assert expected in str(raised.value)


def test_the_idempotency_scenario_is_shipped() -> None:
    scenarios = {s.name: s for s in scenarios_for()}
    assert scenarios["idempotency"].steps == (
        "apply",
        "cron-files",
        "secrets",
        "verify",
        "snapshot",
        "apply",
        "snapshot",
        "expect-no-diff",
        "secrets",
    )


def test_expect_no_diff_needs_two_snapshots_before_it(tmp_path: Path) -> None:
    path = tmp_path / "early.yaml"
    path.write_text("name: early\nsteps: [apply, snapshot, apply, expect-no-diff]\n")
    with pytest.raises(HarnessError) as raised:
        load_scenario(path)
    assert "`steps[3]` compares the last two snapshots" in str(raised.value)
    assert "add `snapshot` steps" in str(raised.value)


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ("[apply-previous, scan, apply, expect-clean-rollback]", "`steps[3]` compares the last two scans"),
        ("[apply, drift]", "`steps[1]` mutates the host as the last snapshot saw it"),
    ],
)
def test_drift_and_rollback_steps_need_what_they_compare_before_them(tmp_path: Path, steps: str, expected: str) -> None:
    path = tmp_path / "early.yaml"
    path.write_text(f"name: early\nsteps: {steps}\n")
    with pytest.raises(HarnessError, match=re.escape(expected)):
        load_scenario(path)


@pytest.mark.parametrize("step", ["expect-untargeted-unchanged", "apply-new-image"])
def test_a_daemonset_step_needs_a_daemonset_scenario(tmp_path: Path, step: str) -> None:
    path = tmp_path / "mixed.yaml"
    path.write_text(f"name: mixed\nsteps: [apply, {step}]\n")
    with pytest.raises(HarnessError) as raised:
        load_scenario(path)
    assert f"`steps[1]` is `{step}`, a DaemonSet step" in str(raised.value)
    assert "give the scenario `workload: daemonset`" in str(raised.value)
    path.write_text(f"name: mixed\nworkload: daemonset\nsteps: [apply, {step}]\n")
    assert load_scenario(path).steps == ("apply", step)


def test_a_fault_scenario_reads_its_faults_in_order(tmp_path: Path) -> None:
    path = tmp_path / "cut.yaml"
    path.write_text(
        "name: cut\nsteps: [apply, snapshot, fault, apply, heal, fault, apply]\n"
        "faults:\n  - {kind: partition, machine: pve1, after_command: 3}\n  - {kind: fill-path, path: /etc/nut}\n"
    )
    faults = load_scenario(path).faults
    assert [(f.kind, f.machine, f.after_command, f.path) for f in faults] == [
        ("partition", "pve1", 3, None),
        ("fill-path", "all", None, "/etc/nut"),
    ]
    assert faults[0].describe() == "partition on pve1, after remote command 3 of the next apply"


def test_an_outage_takes_every_url_with_a_404_unless_told_otherwise(tmp_path: Path) -> None:
    path = tmp_path / "down.yaml"
    path.write_text(
        "name: down\nsteps: [apply, snapshot, fault, apply, heal, fault, apply]\nfaults:\n  - {kind: outage}\n"
        "  - {kind: outage, urls: ['HTTPS://Example.com:443/a.tar.gz'], response: {cut_after: 10, size: 100}}\n"
    )
    every, some = load_scenario(path).faults
    assert (every.urls, every.response.status) == ((), 404)
    assert every.describe() == "outage (status 404) of every URL of the world, now"
    assert some.urls == ("https://example.com/a.tar.gz",)
    assert (some.response.status, some.response.cut_after, some.response.size) == (200, 10, 100)
    assert some.describe() == "outage (status 200, cut off) of https://example.com/a.tar.gz, now"


def test_a_fault_can_wait_for_a_line_of_the_deployer_s_log(tmp_path: Path) -> None:
    path = tmp_path / "line.yaml"
    path.write_text(
        "name: line\nsteps: [apply, snapshot, fault, apply]\n"
        "faults: [{kind: outage, after_log: 'downloading release'}]\n"
    )
    (fault,) = load_scenario(path).faults
    assert fault.armed and fault.after_command is None
    assert fault.describe().endswith("when the deployer's log prints 'downloading release' in the next apply")


def test_host_down_strikes_one_machine_after_a_scan_and_compares_four_scans() -> None:
    scenario = {s.name: s for s in scenarios_for()}["host-down"]
    assert scenario.workload == "job"
    assert [(f.kind, f.machine) for f in scenario.faults] == [("stop-sshd", "one")]
    assert scenario.steps[:2] == ("scan", "fault") and scenario.steps.count("scan") == 4
    assert scenario.faults[0].describe() == "stop-sshd on one machine of several, now"


@pytest.mark.parametrize(
    ("faults", "steps", "expected"),
    [
        ("[{kind: unplug}]", "[apply, snapshot, fault]", "`faults[0].kind` is 'unplug', not a fault"),
        ("[{kind: stop-sshd}]", "[apply, snapshot]", "lists 1 fault(s) for 0 `fault` step(s)"),
        ("[{kind: stop-sshd, after_command: 0}]", "[apply, snapshot, fault]", "`faults[0].after_command` is 0"),
        ("[{kind: reboot, after_command: 2}]", "[apply, snapshot, fault]", "is not supported for reboot"),
        ("[{kind: fill-path}]", "[apply, snapshot, fault]", "`faults[0].path` goes with `kind: fill-path`"),
        ("[{kind: fill-path, path: etc}]", "[apply, snapshot, fault]", "is 'etc', not an absolute path"),
        ("[{kind: pause, when: later}]", "[apply, snapshot, fault]", "`faults[0].when` unknown field"),
        ("[{kind: stop-sshd}]", "[apply, fault]", "strikes a host no snapshot or scan saw"),
        (
            "[{kind: stop-sshd, machine: one}]",
            "[scan, fault, apply, scan, heal, apply, scan, apply, expect-others-converged]",
            "compares four scans",
        ),
        ("{kind: stop-sshd}", "[apply, snapshot, fault]", "`faults` must be a list of faults"),
        ("[{kind: outage, machine: pve1}]", "[apply, snapshot, fault]", "strikes the world"),
        ("[{kind: outage, after_command: 2}]", "[apply, snapshot, fault]", "is not supported for outage"),
        ("[{kind: outage, urls: [example.com/a]}]", "[apply, snapshot, fault]", "`faults[0].urls` holds"),
        ("[{kind: outage, response: {status: 0}}]", "[apply, snapshot, fault]", "`faults[0].response.status` is 0"),
        ("[{kind: stop-sshd, urls: []}]", "[apply, snapshot, fault]", "`faults[0].urls` goes with `kind: outage`"),
        ("[{kind: pause, after_log: ''}]", "[apply, snapshot, fault]", "`faults[0].after_log` is ''"),
        (
            "[{kind: pause, after_log: x, after_command: 1}]",
            "[apply, snapshot, fault]",
            "is given with `after_command`",
        ),
        ("[{kind: reboot, after_log: x}]", "[apply, snapshot, fault]", "`faults[0].after_log` is not supported for"),
    ],
)
def test_bad_faults_are_named_with_the_fix(tmp_path: Path, faults: str, steps: str, expected: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(f"name: bad\nsteps: {steps}\nfaults: {faults}\n")
    with pytest.raises(HarnessError) as raised:
        load_scenario(path)
    assert expected in str(raised.value)
    assert "fix: " in str(raised.value)
