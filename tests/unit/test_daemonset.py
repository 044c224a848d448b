"""DaemonSet manifests, cluster nodes in the spec, and the plan of a pod inside a node."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cluster.pod_files import ImageConfig, plan_pod
from harness.deployer.spec import load_spec
from harness.errors import HarnessError
from harness.k8s.addresses import AddressMap
from harness.k8s.manifest import load_manifest
from harness.k8s.pod_env import Sources
from harness.k8s.scheduling import Taint
from harness.workloads.daemonset import waiting_on_sleep

REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / "deployers" / "node-configurator" / "k8s" / "daemonset.yaml"


def test_the_reference_daemonset_is_read() -> None:
    ds = load_manifest(MANIFEST).daemonset
    assert ds is not None and ds.name == "node-configurator" and ds.namespace == "kube-system"
    assert (ds.pod.host_pid, ds.pod.host_network, ds.pod.containers[0].security.privileged) == (True, True, True)
    placement = ds.pod.placement
    assert placement.required_terms is not None and len(placement.required_terms) == 2
    assert placement.tolerations[0].operator == "Exists"
    assert ds.pod.containers[0].readiness_exec == ("test", "-f", "/tmp/converged")
    assert ds.unavailable_budget(10) == 1


@pytest.mark.parametrize(("budget", "desired", "expected"), [("25%", 10, 3), ("25%", 2, 1), ("3", 10, 3)])
def test_max_unavailable(tmp_path: Path, budget: str, desired: int, expected: int) -> None:
    text = MANIFEST.read_text().replace("maxUnavailable: 1", f"maxUnavailable: {budget!r}")
    (tmp_path / "ds.yaml").write_text(text)
    ds = load_manifest(tmp_path / "ds.yaml").daemonset
    assert ds is not None and ds.unavailable_budget(desired) == expected


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("apiVersion: apps/v1", "apiVersion: extensions/v1beta1"), "DaemonSets are `apps/v1`"),
        (
            ("matchLabels: {app: node-configurator}", "matchLabels: {app: other}"),
            "spec.selector.matchLabels` does not match",
        ),
        (("operator: In, values: [gpu]", "operator: Near, values: [gpu]"), "is 'Near'"),
        (("operator: In, values: [gpu]", "operator: In, values: []"), "must not be empty with `operator: In`"),
        (
            ("- operator: Exists          # every taint: the control plane's too", "- operator: Equal"),
            "must be `Exists` when `key` is empty",
        ),
        (("maxUnavailable: 1", "maxUnavailable: lots"), "spec.updateStrategy.rollingUpdate.maxUnavailable` is 'lots'"),
        (("hostPID: true", "hostPID: true\n      restartPolicy: Never"), "a DaemonSet's pods restart `Always`"),
        (("maxUnavailable: 1", "maxUnavailable: 0"), "is 0, which Kubernetes refuses without maxSurge"),
        (("maxUnavailable: 1", "maxUnavailable: 1, maxSurge: 1"), "maxSurge` is not supported"),
        (("name: node-configurator\n  namespace", "name: Node_Configurator\n  namespace"), "not a DNS-1123 name"),
        (("periodSeconds: 5", "httpGet: {path: /, port: 80}"), "is a probe the harness cannot run"),
    ],
)
def test_bad_daemonsets_name_the_field(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    text = MANIFEST.read_text()
    assert change[0] in text
    (tmp_path / "ds.yaml").write_text(text.replace(*change))
    with pytest.raises(HarnessError) as raised:
        load_manifest(tmp_path / "ds.yaml")
    assert expected in str(raised.value) and "ds.yaml" in str(raised.value)


def test_cluster_nodes_get_standard_labels_and_parsed_taints() -> None:
    spec = load_spec(REPO / "deployers" / "node-configurator", ["debian-12", "pve-8"])
    assert [m.kind for m in spec.machines] == ["k8s-node"] * 4
    cp1 = spec.nodes[0]
    assert cp1.taints == (Taint("node-role.kubernetes.io/control-plane", "NoSchedule"),)
    assert cp1.labels["kubernetes.io/hostname"] == "cp1" and cp1.labels["kubernetes.io/os"] == "linux"
    assert spec.workload == "daemonset" and spec.mirror is True


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ('  nodes:\n    w1: {taints: ["gpu=true:Sometimes"]}', "`cluster.nodes.w1.taints` holds 'gpu=true:Sometimes'"),
        ("  nodes: {}", "`cluster.nodes` is empty"),
        ("  nodes:\n    W_1: {}", "`cluster.nodes.W_1` is not a usable node name"),
    ],
)
def test_bad_cluster_sections_name_the_field(tmp_path: Path, extra: str, expected: str) -> None:
    folder = tmp_path / "dc"
    (folder / "k8s").mkdir(parents=True)
    (folder / "k8s" / "ds.yaml").write_text(MANIFEST.read_text())
    (folder / "Dockerfile").write_text("FROM scratch\n")
    (folder / "harness.yaml").write_text(f"cluster:\n{extra}\n")
    with pytest.raises(HarnessError) as raised:
        load_spec(folder, ["debian-12"])
    assert expected in str(raised.value)


def daemonset_spec(tmp_path: Path, drift: str) -> Path:
    folder = tmp_path / "dc"
    (folder / "k8s").mkdir(parents=True)
    (folder / "k8s" / "ds.yaml").write_text(MANIFEST.read_text())
    (folder / "Dockerfile").write_text("FROM scratch\n")
    (folder / "harness.yaml").write_text(f"cluster:\n  nodes:\n    w1: {{}}\n{drift}\n")
    return folder


def test_a_daemonsets_drift_is_repaired_by_its_loop_unless_the_spec_says_apply(tmp_path: Path) -> None:
    spec = load_spec(daemonset_spec(tmp_path, ""), ["debian-12"])
    assert (spec.drift.heal, spec.drift.heal_seconds, spec.drift.has_check) == ("loop", 60.0, False)
    spec = load_spec(daemonset_spec(tmp_path / "b", "drift: {heal: apply, command: [/check], heal_seconds: 9}"), [])
    assert (spec.drift.heal, spec.drift.heal_seconds, spec.drift.command) == ("apply", 9.0, ("/check",))


@pytest.mark.parametrize(
    ("drift", "expected"),
    [
        (
            "drift: {manifest: k8s/ds.yaml}",
            "`drift.manifest` is for Job deployers; a DaemonSet's check runs in its pods",
        ),
        ("drift: {heal: wait}", "`drift.heal` is 'wait'"),
        ("drift: {heal_seconds: 0}", "`drift.heal_seconds` must be 1 or more"),
    ],
)
def test_bad_daemonset_drift_sections_name_the_field(tmp_path: Path, drift: str, expected: str) -> None:
    with pytest.raises(HarnessError) as raised:
        load_spec(daemonset_spec(tmp_path, drift), ["debian-12"])
    assert expected in str(raised.value)


def plan(manifest: str = MANIFEST.read_text(), tmp_path: Path | None = None):  # type: ignore[no-untyped-def]
    path = (tmp_path or Path("/tmp")) / "plan-ds.yaml"
    path.write_text(manifest)
    ds = load_manifest(path).daemonset
    assert ds is not None
    sources = Sources({}, {"node-configurator": {"agent.conf": "A=1\n"}}, "spec", {"spec.nodeName": "w1"})
    image = ImageConfig(("PATH=/usr/bin:/bin",), ("/app/configure.sh",), (), "/")
    return plan_pod(ds.pod, "nc-abcde", "w1", "/var/lib/harness/images/x", image, sources, AddressMap({}), (1, 8, 60))


def test_a_host_pid_host_network_pod_shares_those_namespaces(tmp_path: Path) -> None:
    p = plan(tmp_path=tmp_path)
    files = {e.path: e for e in p.files}
    start = files["/var/lib/harness/pods/nc-abcde/start.sh"].content.decode()  # type: ignore[union-attr]
    assert "--pid" not in start and "--net" not in start and "--mount" in start and "--ipc" in start
    inner = files["/var/lib/harness/pods/nc-abcde/inner.sh"].content.decode()  # type: ignore[union-attr]
    assert 'mount --rbind / "$R"/host' in inner
    assert 'mount --bind /proc/sys "$R/proc/sys"' in inner  # the node's own view of kernel parameters
    assert 'mount --rbind /dev "$R/dev"' in inner  # privileged
    assert files["/var/lib/harness/pods/nc-abcde/volumes/config/agent.conf"].content == b"A=1\n"
    assert p.env["NODE_NAME"] == "w1" and p.env["PATH"] == "/usr/bin:/bin"
    assert p.argv == ("/app/configure.sh",)


def test_a_pod_without_host_pid_gets_its_own_pid_and_network(tmp_path: Path) -> None:
    text = MANIFEST.read_text().replace("hostPID: true", "hostPID: false").replace("hostNetwork: true", "")
    text = text.replace("privileged: true", "privileged: false")
    p = plan(text, tmp_path)
    start = next(e for e in p.files if e.path.endswith("start.sh")).content.decode()  # type: ignore[union-attr]
    assert "--pid --fork" in start and "--net --uts" in start
    inner = next(e for e in p.files if e.path.endswith("inner.sh")).content.decode()  # type: ignore[union-attr]
    assert "hostname nc-abcde" in inner
    assert 'mount --rbind /dev "$R/dev"' not in inner and 'mount -o remount,bind,ro "$R/sys"' in inner


def inner_of(text: str, tmp_path: Path) -> str:
    p = plan(text, tmp_path)
    return next(e for e in p.files if e.path.endswith("inner.sh")).content.decode()  # type: ignore[union-attr]


def test_host_path_mounts_take_the_sources_type_and_sub_path(tmp_path: Path) -> None:
    text = MANIFEST.read_text().replace(
        "- {name: host, mountPath: /host}",
        "- {name: host, mountPath: /host}\n            - {name: host, mountPath: /machine-id, subPath: etc/machine-id}",
    )
    inner = inner_of(text, tmp_path)
    assert "[ -e / ] || mkdir -p /" in inner  # no type: a missing path becomes a directory
    assert 'if [ -d /etc/machine-id ]; then mkdir -p "$R"/machine-id; else' in inner  # a file gets a file
    assert 'mount --rbind /etc/machine-id "$R"/machine-id' in inner


def test_unprivileged_pods_get_the_runtimes_capabilities_and_a_read_only_proc_sys(tmp_path: Path) -> None:
    text = MANIFEST.read_text().replace("privileged: true", "capabilities: {add: [NET_ADMIN], drop: [MKNOD]}")
    inner = inner_of(text, tmp_path)
    assert 'mount -o remount,bind,ro "$R/proc/sys"' in inner
    bounding = inner.split("--bounding-set ")[1].split()[0]
    assert bounding.startswith("-all,") and "+net_admin" in bounding and "+chown" in bounding
    assert "+mknod" not in bounding and "+sys_admin" not in bounding
    assert inner.rstrip().endswith('/usr/sbin/chroot "$R" /app/configure.sh')


def test_empty_command_and_args_count_as_unset(tmp_path: Path) -> None:
    text = MANIFEST.read_text().replace("- name: configure\n", "- name: configure\n          command: []\n")
    assert plan(text, tmp_path).argv == ("/app/configure.sh",)


def test_run_as_non_root_is_refused_for_a_root_image_as_the_kubelet_does(tmp_path: Path) -> None:
    text = MANIFEST.read_text().replace("privileged: true", "runAsNonRoot: true")
    with pytest.raises(HarnessError, match="CreateContainerConfigError: container has runAsNonRoot"):
        plan(text, tmp_path)
    allowed = inner_of(text.replace("runAsNonRoot: true", "runAsNonRoot: true\n            runAsUser: 1000"), tmp_path)
    assert "--userspec=1000:1000" in allowed  # a non-root user is allowed, and the pod runs as that user


@pytest.mark.parametrize(
    ("processes", "idle"),
    [
        ([(10, 1, "harness-pod"), (11, 10, "configure.sh"), (12, 11, "sleep")], True),
        ([(10, 1, "harness-pod"), (11, 10, "configure.sh")], False),  # between two commands of a pass
        ([(10, 1, "tini"), (11, 10, "sh"), (12, 11, "sleep"), (20, 10, "agent")], False),  # a sidecar process works
        ([(11, 10, "sh"), (12, 11, "chroot"), (13, 12, "systemctl")], False),
        ([], False),
    ],
)
def test_a_loop_is_between_passes_when_only_sleep_and_what_waits_for_it_run(
    processes: list[tuple[int, int, str]], idle: bool
) -> None:
    assert waiting_on_sleep(processes) is idle


def test_a_rollout_that_places_no_pod_fails_and_says_so_instead_of_done() -> None:
    from harness.cluster.rollout import Rollout
    from harness.k8s.scheduling import Decision

    rollout = Rollout("nut", succeeded=True, lines=['daemon set "nut" successfully rolled out'])
    rollout.decisions = [Decision("n1", False, "nodeSelector role=ups does not match")]
    rollout.mark_nowhere()
    assert not rollout.succeeded and rollout.summary() == "scheduled on no node: none of the 1 match its rules"
    described = rollout.describe()
    assert "successfully rolled out" not in described
    assert 'daemon set "nut": its rules match none of the 1 node(s), so no pod runs anywhere' in described
    assert "  n1: nodeSelector role=ups does not match" in described
