"""The kind backend's pure parts: cluster config from the spec's nodes, node names, commands, rollout condition."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.cluster import kind
from harness.errors import HarnessError
from harness.k8s.scheduling import Node, Taint

CP = Node("cp1", {"node-role.kubernetes.io/control-plane": "", "kubernetes.io/hostname": "cp1"},
          (Taint("node-role.kubernetes.io/control-plane", "NoSchedule"),))  # fmt: skip
GPU = Node("w1", {"node-type": "gpu", "kubernetes.io/os": "linux"}, (Taint("gpu", "NoExecute", "true"),))
PLAIN = Node("w2", {})


def test_the_config_has_a_kind_node_per_spec_node_with_labels_and_taints() -> None:
    config = yaml.safe_load(kind.cluster_config((GPU, CP, PLAIN)))
    assert config["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    roles = [n["role"] for n in config["nodes"]]
    assert roles == ["control-plane", "worker", "worker"]  # the control plane first, whatever the spec's order
    worker = config["nodes"][1]
    assert worker["labels"] == {"node-type": "gpu"}  # labels kubeadm sets itself are left out
    patch = yaml.safe_load(worker["kubeadmConfigPatches"][0])
    assert patch == {
        "kind": "JoinConfiguration",
        "nodeRegistration": {"name": "w1", "taints": [{"key": "gpu", "effect": "NoExecute", "value": "true"}]},
    }
    plane = yaml.safe_load(config["nodes"][0]["kubeadmConfigPatches"][0])
    assert plane["kind"] == "InitConfiguration"
    assert plane["nodeRegistration"]["taints"] == [
        {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}
    ]
    assert "labels" not in config["nodes"][2]


def test_a_cluster_without_control_plane_is_refused() -> None:
    with pytest.raises(HarnessError, match="needs a control-plane node"):
        kind.cluster_config((GPU, PLAIN))


def test_labels_the_kubelet_may_not_set_are_left_for_kubectl() -> None:
    assert kind.kubelet_may_set("node-type") and kind.kubelet_may_set("example.com/pool")
    assert kind.kubelet_may_set("node.kubernetes.io/instance-type") and kind.kubelet_may_set("kubelet.kubernetes.io/x")
    assert not kind.kubelet_may_set("node-role.kubernetes.io/worker")
    assert not kind.kubelet_may_set("team.k8s.io/owner")
    worker = Node("w9", {"node-role.kubernetes.io/worker": "", "pool": "a"})
    config = yaml.safe_load(kind.cluster_config((CP, worker)))
    assert config["nodes"][1]["labels"] == {"pool": "a"}


def test_spec_nodes_map_to_kinds_container_names() -> None:
    assert kind.container_names("h1", (GPU, CP, PLAIN)) == {
        "cp1": "h1-control-plane",
        "w1": "h1-worker",
        "w2": "h1-worker2",
    }


def test_commands() -> None:
    assert kind.create_command("h1", "/tmp/c.yaml", "/tmp/kc")[:4] == ["kind", "create", "cluster", "--name"]
    assert kind.load_command("h1", "img:1") == ["kind", "load", "docker-image", "img:1", "--name", "h1"]
    assert kind.kubectl("/tmp/kc", "get", "nodes") == ["kubectl", "--kubeconfig", "/tmp/kc", "get", "nodes"]
    assert kind.delete_command("h1", "/tmp/kc") == [
        "kind",
        "delete",
        "cluster",
        "--name",
        "h1",
        "--kubeconfig",
        "/tmp/kc",
    ]


@pytest.mark.parametrize(
    ("status", "done", "says"),
    [
        ({"observedGeneration": 1}, False, "spec update to be observed"),
        ({"observedGeneration": 2, "desiredNumberScheduled": 3, "updatedNumberScheduled": 1}, False, "1 out of 3 new"),
        (
            {"observedGeneration": 2, "desiredNumberScheduled": 3, "updatedNumberScheduled": 3, "numberAvailable": 2},
            False,
            "2 of 3 updated pods are available",
        ),
        (
            {"observedGeneration": 2, "desiredNumberScheduled": 3, "updatedNumberScheduled": 3, "numberAvailable": 3},
            True,
            "successfully rolled out",
        ),
    ],
)
def test_rollout_is_complete_as_kubectl_decides(status: dict[str, int], done: bool, says: str) -> None:
    finished, message = kind.rollout_complete(2, status)
    assert finished is done and says in message


def test_kind_says_why_it_cannot_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kind.shutil, "which", lambda tool: None)
    assert kind.unavailable(privileged=True) == (
        "--cluster kind needs kind and kubectl on PATH (https://kind.sigs.k8s.io/); use --cluster sim"
    )
    monkeypatch.setattr(kind.shutil, "which", lambda tool: f"/usr/bin/{tool}")
    assert "privileged containers" in str(kind.unavailable(privileged=False))
    assert kind.unavailable(privileged=True) is None


REPO = Path(__file__).resolve().parents[2]


def test_objects_run_the_built_image_with_the_specs_test_values() -> None:
    manifest = REPO / "deployers" / "node-configurator" / "k8s" / "daemonset.yaml"
    text = kind.render_objects(manifest, "deployer-harness/deployer-nc:abc", {"s": {"K": "v"}},
                               {"node-configurator": {"agent.conf": "X=1\n"}}, "r1")  # fmt: skip
    documents = list(yaml.safe_load_all(text))
    assert [d["kind"] for d in documents] == ["Namespace", "DaemonSet", "ConfigMap", "Secret"]
    daemonset = documents[1]
    container = daemonset["spec"]["template"]["spec"]["containers"][0]
    assert (container["image"], container["imagePullPolicy"]) == ("deployer-harness/deployer-nc:abc", "Never")
    assert daemonset["spec"]["template"]["metadata"]["annotations"] == {kind.RESTART_ANNOTATION: "r1"}
    assert documents[2]["data"] == {"agent.conf": "X=1\n"}  # the manifest's own ConfigMap is replaced, not doubled
    assert documents[3]["stringData"] == {"K": "v"} and documents[3]["metadata"]["namespace"] == "kube-system"


def test_daemon_pods_are_read_per_node() -> None:
    pods = {
        "items": [
            {
                "metadata": {"name": "nc-1"},
                "spec": {"nodeName": "w1", "containers": [{"image": "img:2"}]},
                "status": {"containerStatuses": [{"ready": True, "restartCount": 1}]},
            },
            {
                "metadata": {"name": "nc-old", "deletionTimestamp": "2026-11-23T00:00:00Z"},
                "spec": {"nodeName": "w2", "containers": [{"image": "img:1"}]},
            },
            {"metadata": {"name": "pending"}, "spec": {"containers": [{"image": "img:2"}]}},
        ]
    }
    # kubeadm registers each node under the spec's name (nodeRegistration.name): pods name those nodes
    assert kind.daemon_pods(pods) == {"w1": kind.KindPod("nc-1", "img:2", True, 1)}
