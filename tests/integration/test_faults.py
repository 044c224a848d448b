"""Faults as scenario steps, on real machines: sshd stopped before an apply (the shipped sshd-down scenario) and
after the deployer's first remote command (held there by the journal while the fault strikes). An honest deployer
fails and says so; one that exits 0 with its host unreached is caught; what an apply left half-done is shown."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pytest_runs import TEST_DEPLOYERS, Suite, leftovers, run, run_suite


@pytest.fixture(scope="module")
def deployers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """fault-steps, and made wrong on purpose: fault-liar skips a host it cannot reach and exits 0; fault-marker
    marks the host installed with its first file and skips a host so marked."""
    root = tmp_path_factory.mktemp("faults") / "deployers"
    shutil.copytree(TEST_DEPLOYERS / "fault-steps", root / "fault-steps")
    for name, flaw in (("fault-liar", "LIAR"), ("fault-marker", "MARKER")):
        shutil.copytree(TEST_DEPLOYERS / "fault-steps", root / name)
        job = root / name / "k8s" / "job.yaml"
        job.write_text(job.read_text().replace(f'{{name: {flaw}, value: "0"}}', f'{{name: {flaw}, value: "1"}}'))
    return root


@pytest.fixture(scope="module")
def sshd_down(deployers: Path) -> Suite:
    return run_suite(
        deployers / "sshd-down.xml", "sshd-down", ["fault-steps", "fault-liar"], "--deployers-dir", str(deployers)
    )


@pytest.fixture(scope="module")
def half_done(deployers: Path) -> Suite:
    return run_suite(
        deployers / "half-done.xml", "half-done", ["fault-steps", "fault-liar"], "--deployers-dir", str(deployers)
    )


@pytest.fixture(scope="module")
def crash(deployers: Path) -> Suite:
    names = ["fault-steps", "fault-liar", "fault-marker"]
    return run_suite(deployers / "crash.xml", "crash-points", names, "--deployers-dir", str(deployers))


def test_an_honest_deployer_fails_while_sshd_is_down_and_converges_once_it_is_back(sshd_down: Suite) -> None:
    case = sshd_down.cases["fault-steps"]
    assert case["outcome"] == ["passed"], sshd_down.output
    assert case["fault"] == ["stop-sshd on every machine, now: struck"]
    assert case["apply_failed"][0].startswith("apply 2 failed, as it must: BackoffLimitExceeded")
    assert case["healed"] == ["stop-sshd on box"]
    assert case["journal2"] == ["box: 0 commands"]  # not one command reached the host
    assert case["journal3"] == ["box: 3 commands (3 ssh) over 3 connections"]


def test_a_deployer_that_exits_0_with_its_host_unreached_fails(sshd_down: Suite) -> None:
    case = sshd_down.cases["fault-liar"]
    assert case["outcome"] == ["failed"]
    assert "fault-liar / sshd-down: apply 2 reported success although a fault struck" in sshd_down.output
    assert "host unreachable at step 1: skipped" in sshd_down.output


def test_a_fault_after_the_first_remote_command_shows_what_the_apply_left_half_done(half_done: Suite) -> None:
    case = half_done.cases["fault-steps"]
    when = "stop-sshd on every machine, after remote command 1 of the next apply"
    assert case["fault"] == [f"{when}: armed", f"{when}: struck box"]
    assert case["journal1"] == ["box: 1 commands (1 ssh) over 1 connections"]  # the second was refused
    assert case["apply_failed"][0].startswith("apply 1 failed, as it must")
    assert case["outcome"] == ["failed"]
    assert "the host after the failed apply differs from before the fault" in half_done.output
    assert "/etc/steps/1.conf" in half_done.output
    liar = half_done.cases["fault-liar"]
    assert liar["outcome"] == ["failed"]
    assert "fault-liar / half-done: apply 1 reported success although a fault struck" in half_done.output
    assert "host unreachable at step 2: skipped" in half_done.output


def test_crash_points_pass_a_deployer_that_converges_after_any_cut(crash: Suite) -> None:
    case = crash.cases["fault-steps"]
    assert case["outcome"] == ["passed"], crash.output
    assert case["crash_points"][0].startswith("3 points on ")
    assert (
        "0 leave the host wrong after a full apply, 0 said Complete with the host unfinished" in case["crash_points"][0]
    )
    assert [line.split(" [")[0] for line in case["crash_point"]] == ["box k=1", "box k=2", "box k=3"]


def test_crash_points_name_every_k_after_which_a_cut_job_said_complete(crash: Suite) -> None:
    case = crash.cases["fault-liar"]
    assert case["outcome"] == ["failed"]
    lied = [line for line in case["crash_point"] if "said Complete" in line]
    assert [line.split(" [")[0] for line in lied] == ["box k=1", "box k=2"]  # k=3: nothing was left to refuse
    assert "the cut Job said Complete with 1 command(s) refused" in lied[0]


def test_crash_points_name_every_k_that_leaves_the_host_wrong_after_a_full_apply(crash: Suite) -> None:
    case = crash.cases["fault-marker"]
    assert case["outcome"] == ["failed"]
    wrong = [line.split(" [")[0] for line in case["crash_point"] if "the host is wrong" in line]
    assert wrong == ["box k=2", "box k=3"]  # the marker came with the first file: the rest never comes
    assert "/etc/steps/3.conf" in crash.output


@pytest.fixture(scope="module")
def log_struck(tmp_path_factory: pytest.TempPathFactory) -> Suite:
    """sshd stops when the deployer's log prints its first step's line (it waits a second after each line)."""
    root = tmp_path_factory.mktemp("log-struck") / "deployers"
    scenario = (
        "name: log-struck\nworkload: job\nfaults: [{kind: stop-sshd, after_log: step 1 done}]\n"
        "steps: [apply, snapshot, fault, apply, expect-apply-failed, heal, apply, expect-converges-on-rerun]\n"
    )
    for name, liar in (("log-steps", "0"), ("log-liar", "1")):
        shutil.copytree(TEST_DEPLOYERS / "fault-steps", root / name)
        (root / name / "scenarios" / "log-struck.yaml").write_text(scenario)
        job = root / name / "k8s" / "job.yaml"
        text = job.read_text().replace('{name: STEP_PAUSE, value: "0"}', '{name: STEP_PAUSE, value: "1"}')
        job.write_text(text.replace('{name: LIAR, value: "0"}', f'{{name: LIAR, value: "{liar}"}}'))
    return run_suite(root / "log.xml", "log-struck", ["log-steps", "log-liar"], "--deployers-dir", str(root))


def test_a_fault_strikes_when_the_deployer_s_log_prints_a_line(log_struck: Suite) -> None:
    case = log_struck.cases["log-steps"]
    assert case["outcome"] == ["passed"], log_struck.output
    when = "stop-sshd on every machine, when the deployer's log prints 'step 1 done' in the next apply"
    assert case["fault"] == [f"{when}: armed", f"{when}: struck box"]
    assert "apply 2 failed, as it must" in case["apply_failed"][0]
    liar = log_struck.cases["log-liar"]
    assert liar["outcome"] == ["failed"]
    assert "host unreachable at step 2: skipped" in log_struck.output  # the line came, then the fault


@pytest.fixture(scope="module")
def partition(tmp_path_factory: pytest.TempPathFactory) -> Suite:
    """The README's partition example, struck before the apply: the host is off the network."""
    root = tmp_path_factory.mktemp("partition") / "deployers"
    scenario = (
        "name: partition\nworkload: job\nfaults: [{kind: partition, machine: box}]\nsteps: [apply, snapshot, "
        "fault, apply, expect-apply-failed, expect-host-unchanged, heal, apply, expect-converges-on-rerun]\n"
    )
    shutil.copytree(TEST_DEPLOYERS / "fault-steps", root / "fault-steps")
    (root / "fault-steps" / "scenarios" / "partition.yaml").write_text(scenario)
    return run_suite(root / "partition.xml", "partition", ["fault-steps"], "--deployers-dir", str(root))


def test_a_deployer_survives_a_partition(partition: Suite) -> None:
    case = partition.cases["fault-steps"]
    assert case["outcome"] == ["passed"], partition.output
    assert case["fault"] == ["partition on box, now: struck"]
    assert "apply 2 failed, as it must" in case["apply_failed"][0]
    assert case["healed"] == ["partition on box"]
    assert leftovers(partition.run) == []


def test_faults_leave_nothing_behind(sshd_down: Suite, half_done: Suite, crash: Suite, log_struck: Suite) -> None:
    assert leftovers(log_struck.run) == []
    assert leftovers(sshd_down.run) == []
    assert leftovers(half_done.run) == []
    assert leftovers(crash.run) == []


def test_a_fault_naming_a_machine_the_deployer_has_not_is_a_collection_error(tmp_path: Path) -> None:
    root = tmp_path / "deployers"
    shutil.copytree(TEST_DEPLOYERS / "fault-steps", root / "fault-typo")
    (root / "fault-typo" / "scenarios" / "typo.yaml").write_text(
        "name: typo\nworkload: job\nfaults: [{kind: pause, machine: bxo}]\nsteps: [apply, snapshot, fault]\n"
    )
    code, output = run("--deployers-dir", str(root), "--deployer", "fault-typo", "--collect-only")
    assert code != 0, output
    assert "a fault names machine 'bxo', which fault-typo has not" in output
    assert "fix: use one of: box, `one` or `all`" in output
    assert "Traceback" not in output
