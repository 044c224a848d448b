"""``pytest --deployer`` end to end, in a pytest of its own: verdicts, reports, errors, leaks."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from pytest_runs import TEST_DEPLOYERS, harness_pytest, leftovers, run, run_id

from harness.engine.client import connect
from harness.engine.labels import OWNER, RUN, WORKER
from harness.engine.sweep import sweep
from harness.workdirs import sweep_workdirs


def test_a_passing_deployer_passes_and_leaves_nothing(tmp_path: Path) -> None:
    code, output = run("--deployer", "hello", f"--junitxml={tmp_path / 'report.xml'}")
    assert code == 0, output
    assert "1 passed" in output, output
    assert "harness.yaml::converge" in output
    assert "verify: 2 passed" in output
    junit = (tmp_path / "report.xml").read_text()
    assert 'name="verify" value="2 passed"' in junit
    assert leftovers(run_id(output)) == []


def test_the_gate_runs_converge_inside_idempotency_and_leaves_drift_to_its_own_tier(tmp_path: Path) -> None:
    report = tmp_path / "report.xml"
    code, output = run("--deployer", "hello", "-m", "not rollback", "-rs", f"--junitxml={report}")
    assert code == 0, output
    # lint, converge, idempotency, sshd-down; drift, crash points, world-outage (hello's spec has no world),
    # gitops and gitops-update (no Flux objects) and host-down (one machine)
    assert "4 passed, 6 skipped" in output, output
    assert "hello: no Flux image automation objects" in output
    assert "the spec has no `world`: an outage of the world around the deployer does not concern it" in output
    assert "the drift matrix is not part of the gate (the default run): `-m drift` runs its quick tier" in output
    assert "crash points are not part of the gate (the default run): `-m crash-points` runs them" in output
    cases = {case.get("name"): case for case in ET.parse(report).getroot().iter("testcase")}
    converge, idempotency = (
        {p.get("name"): p.get("value") for p in cases[name].iter("property")} for name in ("converge", "idempotency")
    )
    assert converge["shared"] == "its steps ran as the first of the idempotency scenario's"
    assert converge["timing"].startswith("apply ") and ", verify " in converge["timing"]
    assert converge["apply1"] == idempotency["apply1"]
    assert "apply2" in idempotency and "apply2" not in converge  # one deployment, two applies in all
    assert leftovers(run_id(output)) == []


def test_a_failing_deployer_fails_with_its_log_and_leaves_nothing() -> None:
    code, output = run("--deployer", "failing")
    assert code == 1, output
    assert "apply 1 (current version) failed" in output
    assert "BackoffLimitExceeded" in output
    # The Job's log is shown once per attempt (two attempts), not once more in a report section.
    assert output.count("error: /etc/nut/ups.conf: permission denied") == 2, output
    # The Secret's value it logged is masked, also base64-encoded.
    assert "with token ********" in output, output
    assert "f41l1ng" not in output and base64.b64encode(b"tok-f41l1ng-s3cr3t").decode() not in output
    assert "Traceback" not in output
    assert leftovers(run_id(output)) == []


def test_a_dockerfile_that_does_not_build_names_the_failing_step() -> None:
    code, output = run("--deployer", "broken-build")
    assert code == 1, output
    assert "image build failed at Step 2/" in output
    assert 'RUN echo "compiling the deployer" && false' in output
    assert "broken-build/Dockerfile" in output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--deployer", "nonesuch"), "no deployer named 'nonesuch'"),
        (("--deployer", "hello", "--deployers-dir", "/nonexistent"), "the deployers folder does not exist"),
    ],
)
def test_bad_input_is_a_short_usage_error(args: tuple[str, ...], expected: str) -> None:
    code, output = run(*args)
    assert code == 4, output  # pytest's usage error
    assert expected in output
    assert "Traceback" not in output


def test_xdist_runs_deployers_in_parallel_and_cleans_up() -> None:
    code, output = run("--deployer", "hello", "--deployer", "failing", "-n", "2")
    assert code == 1, output
    assert "1 failed, 1 passed" in output, output
    assert leftovers(run_id(output)) == []


def _wait_for_pod(process: subprocess.Popen[str], deadline: float = 240, role: str = "pod") -> str:
    """Read the run id from the header, then wait until the deployer's pod runs (or, with ``role="machine"``, its
    first machine's container exists)."""
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if "; run " in line:
            break
    run = run_id("".join(lines))
    client = connect()
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if client.containers.list(
            all=True, filters={"label": [f"{RUN}={run}", f"deployer-harness.role={role}"]}, ignore_removed=True
        ):
            return run
        time.sleep(0.2)
    raise AssertionError("the deployer's pod never started:\n" + "".join(lines))


def _running_pod(run: str, deadline: float = 60) -> Any:
    client, end = connect(), time.monotonic() + deadline
    while time.monotonic() < end:
        pods = client.containers.list(filters={"label": [f"{RUN}={run}", "deployer-harness.role=pod"]})
        if pods:
            return pods[0]
        time.sleep(0.2)
    raise AssertionError(f"no pod of run {run} ran within {deadline:g} s")


def work_folders(run: str) -> list[Path]:
    return list(Path(tempfile.gettempdir()).glob(f"deployer-harness-{run}-*"))


@pytest.mark.parametrize(
    ("stop", "role"),
    [
        (signal.SIGINT, "machine"),
        (signal.SIGTERM, "machine"),
        (signal.SIGINT, "pod"),
        (signal.SIGTERM, "pod"),
        (signal.SIGHUP, "pod"),
    ],
)
def test_ctrl_c_sigterm_and_sighup_leave_nothing_behind(stop: signal.Signals, role: str) -> None:
    """While the machines start (the first container exists), and while the deployer's pod runs."""
    process = harness_pytest("--deployer", "sleepy")
    run = _wait_for_pod(process, role=role)
    assert work_folders(run)  # the run's SSH keys are in it
    os.killpg(process.pid, stop)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 2, output  # interrupted
    assert leftovers(run) == []
    assert work_folders(run) == []


@pytest.mark.parametrize("role", ["machine", "pod"])
def test_a_killed_run_is_swept_by_the_next_one(role: str) -> None:
    """SIGKILL while the machines start, and while the deployer's pod runs."""
    process = harness_pytest("--deployer", "sleepy")
    run = _wait_for_pod(process, role=role)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    assert leftovers(run), "a killed run cannot clean up after itself"
    assert work_folders(run), "nor remove its work folder"
    report = sweep(connect())
    assert report.containers
    assert leftovers(run) == []
    assert set(work_folders(run)) <= set(sweep_workdirs(connect()))
    assert work_folders(run) == []


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (("harness.yaml", "kind: debian-12", "kind: debian-13"), "`machines.web1.kind` is 'debian-13'"),
        (("harness.yaml", "machines:", "machines: [\n"), "harness.yaml:"),
        (("harness.yaml", "manifest: k8s/job.yaml", "manifest: k8s/gone.yaml"), "`manifest` names"),
        # the manifest, and the spec against it: refused before any machine starts, once, not once per scenario
        (
            ("harness.yaml", "hello-secrets:", "other-secrets:"),
            "fix: add `secrets: {hello-secrets: {KEY: test-value}}`",
        ),
        (("harness.yaml", "198.51.100.7", "198.51.100.8"), "`machines.web1.address` is 198.51.100.8, which the"),
        (("k8s/job.yaml", "  backoffLimit:", "  backoffLimit: 1\n  backoffLimit:"), "`backoffLimit` is given twice"),
    ],
)
def test_a_broken_spec_is_named_with_the_fix(tmp_path: Path, breakage: tuple[str, str, str], expected: str) -> None:
    import shutil

    root = tmp_path / "deployers"
    shutil.copytree(TEST_DEPLOYERS / "hello", root / "hello")
    name, old, new = breakage
    path = root / "hello" / name
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new))
    code, output = run("--deployer", "hello", "--deployers-dir", str(root))
    assert code == 4, output  # pytest's usage error
    assert output.count(expected) == 1, output
    assert str(path) in output
    assert "fix: " in output
    assert "Traceback" not in output


def test_keep_leaves_the_machines_running_with_a_way_in() -> None:
    code, output = run("--deployer", "hello", "--keep")
    assert code == 0, output
    run_ = run_id(output)
    assert "web1: docker exec -it deployer-harness-" in output
    try:
        kept = leftovers(run_)
        assert any("web1" in name for name in kept), kept
        sweep(connect())  # the owner is gone, but kept machines are spared
        assert leftovers(run_) == kept
        container = connect().containers.list(filters={"label": f"{RUN}={run_}"})[0]
        assert container.exec_run(["cat", "/etc/hello/greeting.conf"]).output == b"hello from the manifest\n"
    finally:
        sweep(connect(), run_id=run_, kept=True)
    assert leftovers(run_) == []


def test_keep_on_failure_keeps_the_machines_of_failed_items_only() -> None:
    code, output = run("--deployer", "hello", "--deployer", "failing", "--keep=on-failure", "-m", "converge")
    assert code == 1, output
    run_ = run_id(output)
    try:
        kept = leftovers(run_)
        # its machine and network, and the marker that keeps them
        assert sorted(name.rsplit("-", 1)[-1] for name in kept) == ["box", "failing", "kept"], kept
        assert not any("web1" in name or "hello" in name for name in kept), kept  # hello passed: its machine went
        summary = output.split("deployer-harness summary")[-1]
        assert "docker exec -it deployer-harness-" in summary, summary  # the way into each kept machine
        assert "kept machines stay until `deployer-harness sweep --kept`" in summary
        sweep(connect())  # the owner is gone, but kept machines are spared
        assert leftovers(run_) == kept
        assert work_folders(run_), "the kept machine's SSH key"
    finally:
        sweep(connect(), run_id=run_, kept=True)
        sweep_workdirs(connect())  # as `deployer-harness sweep --kept` does, once the machines went
    assert leftovers(run_) == []
    assert work_folders(run_) == []


def test_keep_on_failure_keeps_nothing_when_everything_passes() -> None:
    code, output = run("--deployer", "hello", "--keep=on-failure", "-m", "converge")
    assert code == 0, output
    assert leftovers(run_id(output)) == [] and work_folders(run_id(output)) == []
    assert "kept machines stay" not in output


def test_a_deployers_own_tests_never_run_against_the_local_machine() -> None:
    # Without the harness, testinfra's `host` would be the computer running pytest.
    code, output = run(str(TEST_DEPLOYERS / "hello"))
    assert code == 5, output  # nothing collected
    assert "test_hello" not in output


def test_a_killed_xdist_worker_leaves_nothing_once_the_run_ends() -> None:
    """SIGKILL to the worker whose deployer runs: the worker cannot clean up, the run's end removes what it made
    (machines, pods, network, volumes; its work folder) by the run's labels."""
    process = harness_pytest("--deployer", "sleepy", "-n", "2", "-m", "converge or idempotency")
    run = _wait_for_pod(process)
    pod = _running_pod(run)  # the wait saw it created; its labels are read once it runs
    worker, owner = pod.labels[WORKER], pod.labels[OWNER]  # host/pid-namespace/pid/start-time of the worker
    pid = int(owner.split("/")[2])
    assert worker.startswith("gw") and pid != process.pid
    os.kill(pid, signal.SIGKILL)
    time.sleep(2)  # the controller sees its worker go
    assert leftovers(run), "the killed worker's machines are still there"
    os.killpg(process.pid, signal.SIGINT)  # the rest of the run would sleep for minutes: end it
    output, _ = process.communicate(timeout=180)
    assert f"{worker}" in output and ("crashed" in output or "node down" in output), output
    assert leftovers(run) == []
    assert work_folders(run) == []
