"""The simulated cluster on real node containers: placement, namespaces, kernel parameters, restarts, rollouts.

Each test rolls out the variant it needs (tests may run on different xdist workers).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from harness.checks.converge import apply
from harness.cluster.rollout import Rollout
from harness.cluster.sim import SimCluster
from harness.deployer.spec import load_spec
from harness.deployment import Deployment
from harness.k8s.manifest import DaemonSetSpec
from harness.k8s.pod import EnvVar
from harness.workbench import Workbench
from harness.workloads.sim import SimDaemonSet


@pytest.fixture(scope="module")
def probe(bench: Workbench, test_spec) -> Iterator[Deployment]:  # type: ignore[no-untyped-def]
    with Deployment(bench, test_spec("ds-probe")) as deployment:
        yield deployment


def cluster(deployment: Deployment) -> SimCluster:
    assert isinstance(deployment.workload, SimDaemonSet)
    return deployment.workload.cluster


def roll_out(deployment: Deployment, *, host_pid: bool = False, env: dict[str, str] | None = None,
             timeout: float = 60) -> Rollout:  # fmt: skip
    ds = deployment.manifest.daemonset
    workload = deployment.workload
    assert ds is not None and isinstance(workload, SimDaemonSet)
    container = ds.pod.containers[0]
    container = replace(container, env=container.env + tuple(EnvVar(k, v) for k, v in (env or {}).items()))
    variant: DaemonSetSpec = replace(ds, pod=replace(ds.pod, host_pid=host_pid, containers=(container,)))
    image, sources = deployment.current.image, workload.sources(deployment.manifest)
    return workload.cluster.apply(variant, image, sources, timeout=timeout)


def test_the_daemon_lands_where_the_scheduling_rules_say(probe: Deployment) -> None:
    rollout = roll_out(probe)
    assert rollout.succeeded, rollout.describe()
    assert sorted(cluster(probe).pods) == ["n1", "n2"]
    assert "n3: taint dedicated=db:NoSchedule is not tolerated" in rollout.describe()


def test_a_failing_verify_shows_what_the_daemon_pods_logged(
    probe: Deployment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.checks.converge import verify

    assert roll_out(probe).succeeded  # without hostPID: the pods' systemctl cannot reach the node's systemd
    (tmp_path / "test_node.py").write_text(
        "def test_the_pod_left_its_mark(host):\n    assert host.file('/etc/probed').exists\n"
    )
    monkeypatch.setattr(probe, "spec", replace(probe.spec, tests=tmp_path))
    report = verify(probe)
    assert report.failure is not None and "FAILED test_node::test_the_pod_left_its_mark" in report.failure
    for node in ("n1", "n2"):  # each targeted node's pod, beside the verdict; n3 has none
        assert f"--- the daemon pod on {node} logged (" in report.failure
    assert "the daemon pod on n3" not in report.failure
    assert "    | systemctl failed: Failed to connect to bus" in report.failure, report.failure


def test_without_host_pid_the_pod_has_its_own_pids_and_systemctl_cannot_reach_the_node(probe: Deployment) -> None:
    assert roll_out(probe).succeeded
    log = cluster(probe).logs("n1")
    assert "node=n1 pid=1 " in log, log
    assert "systemctl failed: Failed to connect to bus" in log  # what real clusters report, decided by the kernel


def test_with_host_pid_chroot_host_systemctl_drives_the_node(probe: Deployment) -> None:
    assert roll_out(probe, host_pid=True).succeeded
    log = cluster(probe).logs("n2")
    assert "systemctl: active" in log, log
    assert "node=n2 pid=1 " not in log


def test_kernel_parameters_change_on_the_node_and_never_on_this_machine(probe: Deployment) -> None:
    real = Path("/proc/sys/vm/swappiness").read_text()
    assert roll_out(probe, host_pid=True, env={"SWAPPINESS": "17"}).succeeded
    assert "swappiness=17 host-swappiness=17" in cluster(probe).logs("n1")
    assert probe.testbed.machines["n1"].exec("cat /proc/sys/vm/swappiness") == (0, "17\n")
    assert probe.testbed.machines["n3"].exec("cat /proc/sys/vm/swappiness")[1] != "17\n"  # no pod there
    assert Path("/proc/sys/vm/swappiness").read_text() == real


def test_a_rolling_update_replaces_one_node_at_a_time(probe: Deployment) -> None:
    assert roll_out(probe).succeeded
    before = {node: pod.name for node, pod in cluster(probe).pods.items()}
    rollout = roll_out(probe)
    assert rollout.succeeded
    waits = [line for line in rollout.lines if line.startswith("Waiting")]
    assert [w.split(": ")[1] for w in waits] == [
        "0 out of 2 new pods have been updated...",
        "1 out of 2 new pods have been updated...",
    ]
    assert all(cluster(probe).pods[node].name != name for node, name in before.items())
    assert rollout.batches in (  # maxUnavailable 1: never two nodes without their pod at once
        [["n1"], ["n2"]],
        [["n2"], ["n1"]],
    )


def test_a_crashing_container_is_restarted_with_back_off_and_its_logs_are_shown(probe: Deployment) -> None:
    rollout = roll_out(probe, env={"CRASH": "yes"}, timeout=10)
    assert not rollout.succeeded
    # Asked with its readiness probe: between two crashes the container may be running, never ready.
    state = cluster(probe).pod_state("n1", probe=("test", "-f", "/tmp/ready"))
    assert state.restarts >= 1 and not state.ready
    described = rollout.describe()
    assert "pods not ready in time" in described
    assert described.count("crashing on purpose") >= 2, described  # restarted, and the log says so
    assert "container exited with code 3" in described


def test_a_daemonset_whose_rules_match_no_node_fails_placement(bench: Workbench, test_spec) -> None:  # type: ignore[no-untyped-def]
    from harness.checks.placement import expect_untargeted_unchanged
    from harness.k8s.scheduling import Node

    spec = test_spec("ds-probe")
    nodes = (Node("n1", {"probe": "no"}), Node("n2", {"role": "db"}, ()))  # the manifest selects probe=yes
    with Deployment(bench, replace(spec, nodes=nodes)) as deployment:
        rollout = deployment.apply()
        # `kubectl rollout status` calls 0 of 2 nodes done; nothing is configured, so the apply fails, saying why
        assert not rollout.succeeded and rollout.summary() == "scheduled on no node: none of the 2 match its rules"
        described = rollout.describe()
        assert "its rules match none of the 2 node(s), so no pod runs anywhere" in described
        assert "successfully rolled out" not in described
        assert "n1: nodeSelector probe=yes does not match" in described
        step = apply(deployment)  # as a scenario's apply step fails: with the rules and the nodes side by side
        assert step.failure is not None and step.failure.startswith("apply 2 (current version) failed")
        assert "n2: nodeSelector probe=yes does not match (labels: role=db)" in step.failure
        report = expect_untargeted_unchanged(deployment)
    assert report.failure is not None
    assert "the DaemonSet's rules match none of the cluster's 2 node(s)" in report.failure
    assert "rules: nodeSelector probe=yes" in report.failure
    assert "n1: nodeSelector probe=yes does not match (labels: probe=no)" in report.failure
    assert "n2: nodeSelector probe=yes does not match (labels: role=db)" in report.failure
    assert "fix: match the nodeSelector" in report.failure


def test_without_a_readiness_probe_the_watch_is_derived_after_the_pods_first_pass_and_alike_on_every_node(
    bench: Workbench, machine_kinds: list[str], tmp_path: Path
) -> None:
    """node-configurator installs a package in its first pass: rolled out without its probe, the pods run long
    before they have configured their nodes, and a watch derived then would differ from node to node."""
    folder = tmp_path / "node-configurator"
    shutil.copytree(Path(__file__).resolve().parents[2] / "deployers" / "node-configurator", folder)
    manifest = folder / "k8s" / "daemonset.yaml"
    probe = "".join(
        f"{' ' * indent}{line}\n"
        for indent, line in (
            (10, "readinessProbe:"),
            (12, "exec: {command: [test, -f, /tmp/converged]}"),
            (12, "periodSeconds: 5"),
        )
    )
    assert probe in manifest.read_text()
    manifest.write_text(manifest.read_text().replace(probe, ""))
    with Deployment(bench, load_spec(folder, machine_kinds)) as deployment:
        deployment.state.scan_pristine()
        report = apply(deployment)
        assert report.failure is None, report.failure
        assert dict(report.properties)["derived_after"] == (
            "the pods between two passes (only `sleep` and the processes waiting for it, twice in a row)"
        )
        targeted = [n for n, p in deployment.workload.placements().items() if p.targeted]
        watched = {node: deployment.state.derived[node] for node in targeted}
        assert len(targeted) == 3 and len(set(watched.values())) == 1, watched
        assert "node-agent.service" in watched[targeted[0]].units
