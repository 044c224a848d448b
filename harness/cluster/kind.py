"""The kind backend (``--cluster kind``): the same DaemonSet interface on a real kind cluster.

kind needs privileged containers and pulls its node image from a registry, so it
cannot run everywhere the simulated cluster can; :func:`unavailable` says why
before anything starts. What is pure lives here and is unit-tested: the cluster
configuration built from the spec's nodes, the commands, the rollout condition.
"""

from __future__ import annotations

import shutil
from typing import Any

import yaml

from harness.k8s.scheduling import Node

CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"
# Labels kind (kubeadm) sets itself: giving them again in the config is refused.
_OWN_LABELS = ("kubernetes.io/hostname", "kubernetes.io/os", "kubernetes.io/arch", CONTROL_PLANE_LABEL)


def unavailable(privileged: bool) -> str | None:
    """Why kind cannot run here, or None when it can."""
    missing = [tool for tool in ("kind", "kubectl") if shutil.which(tool) is None]
    if missing:
        return f"--cluster kind needs {' and '.join(missing)} on PATH (https://kind.sigs.k8s.io/); use --cluster sim"
    if not privileged:
        return "--cluster kind needs privileged containers, which this Docker engine refuses; use --cluster sim"
    return None


def node_roles(nodes: tuple[Node, ...]) -> list[tuple[Node, str]]:
    """kind needs a control-plane node first: the spec's control-plane nodes, then the workers."""
    planes = [n for n in nodes if CONTROL_PLANE_LABEL in n.labels]
    workers = [n for n in nodes if CONTROL_PLANE_LABEL not in n.labels]
    if not planes:
        raise ValueError("kind needs a control-plane node: label one node `node-role.kubernetes.io/control-plane`")
    return [(n, "control-plane") for n in planes] + [(n, "worker") for n in workers]


def container_names(cluster: str, nodes: tuple[Node, ...]) -> dict[str, str]:
    """The spec's node names -> kind's node containers (<cluster>-control-plane, -control-plane2, -worker, ...)."""
    names: dict[str, str] = {}
    counts = {"control-plane": 0, "worker": 0}
    for node, role in node_roles(nodes):
        counts[role] += 1
        names[node.name] = f"{cluster}-{role}{counts[role] if counts[role] > 1 else ''}"
    return names


def cluster_config(nodes: tuple[Node, ...]) -> str:
    """A kind Cluster config: one kind node per spec node, with its labels and taints (through kubeadm)."""
    entries: list[dict[str, Any]] = []
    for node, role in node_roles(nodes):
        entry: dict[str, Any] = {"role": role}
        labels = {k: v for k, v in node.labels.items() if k not in _OWN_LABELS}
        if labels:
            entry["labels"] = labels
        registration: dict[str, Any] = {"name": node.name}
        # kubeadm taints the control plane itself; an explicit list replaces that default, as the spec says.
        registration["taints"] = [
            {"key": t.key, "effect": t.effect, **({"value": t.value} if t.value else {})} for t in node.taints
        ]
        kind = "InitConfiguration" if role == "control-plane" and not entries else "JoinConfiguration"
        entry["kubeadmConfigPatches"] = [yaml.safe_dump({"kind": kind, "nodeRegistration": registration})]
        entries.append(entry)
    config = {"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4", "nodes": entries}
    return yaml.safe_dump(config, sort_keys=False)


def create_command(cluster: str, config_path: str, kubeconfig: str) -> list[str]:
    return ["kind", "create", "cluster", "--name", cluster, "--config", config_path, "--kubeconfig", kubeconfig,
            "--wait", "180s"]  # fmt: skip


def delete_command(cluster: str, kubeconfig: str) -> list[str]:
    return ["kind", "delete", "cluster", "--name", cluster, "--kubeconfig", kubeconfig]


def load_command(cluster: str, image: str) -> list[str]:
    return ["kind", "load", "docker-image", image, "--name", cluster]


def kubectl(kubeconfig: str, *args: str) -> list[str]:
    return ["kubectl", "--kubeconfig", kubeconfig, *args]


def rollout_complete(generation: int, status: dict[str, Any]) -> tuple[bool, str]:
    """Whether a DaemonSet rollout has finished, as ``kubectl rollout status`` decides it, and what it waits for."""
    if status.get("observedGeneration", 0) < generation:
        return False, "Waiting for daemon set spec update to be observed..."
    desired = status.get("desiredNumberScheduled", 0)
    updated = status.get("updatedNumberScheduled", 0)
    available = status.get("numberAvailable", 0)
    if updated < desired:
        return (
            False,
            f"Waiting for daemon set rollout to finish: {updated} out of {desired} new pods have been updated...",
        )
    if available < desired:
        return (
            False,
            f"Waiting for daemon set rollout to finish: {available} of {desired} updated pods are available...",
        )
    return True, "daemon set successfully rolled out"
