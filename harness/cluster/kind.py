"""The kind backend (``--cluster kind``): the same DaemonSet interface on a real kind cluster.

kind needs privileged containers and pulls its node image from a registry, so it
cannot run everywhere the simulated cluster can; :func:`unavailable` says why
before anything starts. What is pure lives here and is unit-tested: the cluster
configuration built from the spec's nodes, the commands, the rollout condition.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.cluster.rollout import Rollout
from harness.errors import HarnessError
from harness.k8s.manifest import DaemonSetSpec, manifest_documents
from harness.k8s.scheduling import Decision, Node

CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"
# Labels kind (kubeadm) sets itself: giving them again in the config is refused.
_OWN_LABELS = ("kubernetes.io/hostname", "kubernetes.io/os", "kubernetes.io/arch", CONTROL_PLANE_LABEL)
# The kubelet refuses to set labels of its own in the kubernetes.io and k8s.io namespaces, except these.
_KUBELET_PREFIXES = ("kubelet.kubernetes.io/", "node.kubernetes.io/")
_KUBELET_KEYS = ("topology.kubernetes.io/region", "topology.kubernetes.io/zone", "node.kubernetes.io/instance-type")


def kubelet_may_set(key: str) -> bool:
    """Whether the kubelet may register a node with this label (``--node-labels``); the others need kubectl."""
    domain = key.partition("/")[0] if "/" in key else ""
    restricted = domain.endswith(("kubernetes.io", "k8s.io"))
    return not restricted or key.startswith(_KUBELET_PREFIXES) or key in _KUBELET_KEYS


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
        raise HarnessError(
            "kind needs a control-plane node, and `cluster.nodes` has none",
            fix='label one node `node-role.kubernetes.io/control-plane: ""`, or run with --cluster sim',
        )
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
        labels = {k: v for k, v in node.labels.items() if k not in _OWN_LABELS and kubelet_may_set(k)}
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


# ---------------------------------------------------------------------------------------------------------------
# Objects sent to the cluster (pure) and the live driver. The driver needs kind, kubectl and privileged
# containers; the machine this harness is developed on has none of them, so it has only run in its unit-tested parts.


def render_objects(
    manifest_path: Path, image: str, secrets: dict[str, dict[str, str]], config_maps: dict[str, dict[str, str]],
    restart: str,
) -> str:  # fmt: skip
    """The manifest as the cluster gets it: the DaemonSet runs the harness's image (loaded into the nodes, never
    pulled), its template carries a restart stamp (a new one restarts its pods, as ``kubectl rollout restart``),
    and ConfigMaps and Secrets hold the spec's test values over the manifest's."""
    documents = [d for d in manifest_documents(manifest_path)[0] if isinstance(d, dict)]
    namespace = "default"
    out: list[dict[str, Any]] = []
    for document in documents:
        kind = document.get("kind")
        if kind == "DaemonSet":
            daemonset = copy.deepcopy(document)
            namespace = daemonset.get("metadata", {}).get("namespace", "default")
            template = daemonset["spec"]["template"]
            container = template["spec"]["containers"][0]
            container["image"], container["imagePullPolicy"] = image, "Never"
            annotations = template.setdefault("metadata", {}).setdefault("annotations", {})
            annotations[RESTART_ANNOTATION] = restart
            out.append(daemonset)
        elif kind not in ("ConfigMap", "Secret"):
            out.append(document)
    for name, data in config_maps.items():
        out.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace},
                    "data": data})  # fmt: skip
    for name, data in secrets.items():
        out.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace},
                    "type": "Opaque", "stringData": data})  # fmt: skip
    if namespace != "default":
        out.insert(0, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    return yaml.safe_dump_all(out, sort_keys=False)


def daemon_pods(pods: dict[str, Any]) -> dict[str, KindPod]:
    """``kubectl get pods -o json`` -> the daemon pod on each node (kind's node name)."""
    found: dict[str, KindPod] = {}
    for item in pods.get("items", []):
        node = item.get("spec", {}).get("nodeName")
        if not node or item.get("metadata", {}).get("deletionTimestamp"):
            continue
        statuses = item.get("status", {}).get("containerStatuses") or [{}]
        found[node] = KindPod(
            item["metadata"]["name"],
            item["spec"]["containers"][0]["image"],
            bool(statuses[0].get("ready")),
            int(statuses[0].get("restartCount", 0)),
        )
    return found


RESTART_ANNOTATION = "deployer-harness/restartedAt"


@dataclass(frozen=True)
class KindPod:
    name: str
    image: str
    ready: bool
    restarts: int


@dataclass
class KindCluster:
    """One kind cluster of the run: created by the xdist controller, used by every worker through its kubeconfig."""

    name: str
    kubeconfig: str
    nodes: dict[str, str]  # spec node name (kubeadm registers it as the Kubernetes node name) -> kind's container
    pods: dict[str, KindPod] = field(default_factory=dict)  # spec node -> its daemon pod

    @classmethod
    def create(cls, name: str, nodes: tuple[Node, ...], workdir: Path) -> KindCluster:
        workdir.mkdir(parents=True, exist_ok=True)
        config, kubeconfig = workdir / f"{name}.yaml", workdir / f"{name}.kubeconfig"
        config.write_text(cluster_config(nodes))
        _run(create_command(name, str(config), str(kubeconfig)), timeout=600)
        for node in nodes:  # labels the kubelet may not set on itself (node-role.kubernetes.io/worker, say)
            later = [f"{k}={v}" for k, v in node.labels.items() if k not in _OWN_LABELS and not kubelet_may_set(k)]
            if later:
                _run(kubectl(str(kubeconfig), "label", "node", node.name, "--overwrite", *later))
        return cls(name, str(kubeconfig), container_names(name, nodes))

    def delete(self) -> None:
        _run(delete_command(self.name, self.kubeconfig), timeout=300)

    def as_data(self) -> dict[str, Any]:
        return {"name": self.name, "kubeconfig": self.kubeconfig, "nodes": self.nodes}

    def apply(self, objects: str, ds: DaemonSetSpec, image: str, *, timeout: float = 180.0) -> Rollout:
        started = time.monotonic()
        rollout = Rollout(ds.name)
        _run(load_command(self.name, image), timeout=600)
        _run(kubectl(self.kubeconfig, "apply", "-f", "-"), stdin=objects)
        target = ["-n", ds.namespace, "daemonset", ds.name]
        generation = int(_run(kubectl(self.kubeconfig, "get", *target, "-o", "jsonpath={.metadata.generation}")))
        deadline = started + timeout
        while True:
            status = json.loads(_run(kubectl(self.kubeconfig, "get", *target, "-o", "json"))).get("status", {})
            done, message = rollout_complete(generation, status)
            if not rollout.lines or rollout.lines[-1] != message:
                rollout.lines.append(message)
            if done:
                rollout.succeeded = True
                break
            if time.monotonic() > deadline:
                break
            time.sleep(1)
        selector = ",".join(f"{k}={v}" for k, v in ds.selector.items())
        pods = json.loads(_run(kubectl(self.kubeconfig, "get", "pods", "-n", ds.namespace, "-o", "json",
                                       *(["-l", selector] if selector else []))))  # fmt: skip
        by_node = daemon_pods(pods)
        self.pods = {node: pod for node, pod in by_node.items() if node in self.nodes}
        rollout.decisions = [
            Decision(node, node in self.pods, "scheduled" if node in self.pods else "no daemon pod")
            for node in self.nodes
        ]
        if rollout.succeeded and int(status.get("desiredNumberScheduled", 0)) == 0:  # done: nowhere to run
            rollout.mark_nowhere()
        if not rollout.succeeded:
            rollout.pod_logs = {
                pod.name: self.logs(node, ds.namespace) for node, pod in self.pods.items() if not pod.ready
            }
        rollout.seconds = time.monotonic() - started
        return rollout

    def remove_daemonset(self, ds: DaemonSetSpec) -> None:
        """After a scenario: the next one starts without the daemon (what it changed on the nodes stays: kind's
        nodes are the run's, not the scenario's)."""
        _run(kubectl(self.kubeconfig, "delete", "-n", ds.namespace, "daemonset", ds.name, "--ignore-not-found",
                     "--cascade=foreground", "--wait=true"), check=False, timeout=180)  # fmt: skip
        self.pods = {}

    def logs(self, node: str, namespace: str) -> str:
        pod = self.pods.get(node)
        if pod is None:
            return ""
        return _run(kubectl(self.kubeconfig, "logs", "-n", namespace, pod.name), check=False)

    def exec(self, node: str, namespace: str, command: tuple[str, ...], timeout: float = 60.0) -> tuple[int, str]:
        pod = self.pods.get(node)
        if pod is None:
            return 1, f"no pod of the DaemonSet runs on {node}"
        try:
            done = subprocess.run(kubectl(self.kubeconfig, "exec", "-n", namespace, pod.name, "--", *command),
                                  capture_output=True, text=True, timeout=timeout, check=False)  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as exc:
            return 1, f"kubectl exec into {pod.name} failed: {exc}"
        return done.returncode, done.stdout + done.stderr

    def runner(self, node: str) -> Callable[[str], tuple[int, bytes, bytes]]:
        """Runs a script in a node container (``docker exec``): node state, for snapshots."""
        container = self.nodes[node]

        def run(script: str) -> tuple[int, bytes, bytes]:
            try:
                done = subprocess.run(["docker", "exec", "-i", container, "sh", "-s"], input=script.encode(),
                                      capture_output=True, timeout=300, check=False)  # fmt: skip
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise HarnessError(f"docker exec into kind node {container} failed: {exc}") from None
            return done.returncode, done.stdout, done.stderr

        return run


def _run(command: list[str], *, stdin: str | None = None, timeout: float = 120, check: bool = True) -> str:
    try:
        done = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise HarnessError(f"`{' '.join(command[:4])} ...` failed: {exc}") from None
    if check and done.returncode != 0:
        raise HarnessError(f"`{' '.join(command)}` failed (exit {done.returncode}):\n{done.stderr.strip()[-2000:]}")
    return done.stdout
