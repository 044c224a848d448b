"""What a DaemonSet deployer's workload does on either cluster backend: placements from the current manifest's
scheduling rules, the ``cluster`` fixture's data, and the drift strategy of pods that loop."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from harness.cluster.rollout import Rollout
from harness.deployer.spec import DeployerSpec
from harness.drift.strategies import POLL_SECONDS, Converged, PodDrift
from harness.errors import HarnessError
from harness.k8s.manifest import DaemonSetSpec, Manifest
from harness.k8s.scheduling import Decision, schedule
from harness.secrets import SecretRegistry
from harness.state.tracker import ScriptRunner
from harness.workloads.base import Placement, Version

if TYPE_CHECKING:
    from harness.testbed import Testbed


QUIET_SECONDS = 5.0  # a pod's log that says nothing new for this long has finished its pass


def waiting_on_sleep(processes: list[tuple[int, int, str]]) -> bool:
    """A loop between two passes: a ``sleep`` runs, and every other process of the pod is one of its ancestors
    (the loop's shell, the container's init), waiting for it."""
    parents = {pid: ppid for pid, ppid, _ in processes}
    for pid, _, name in processes:
        if name == "sleep":
            chain, at = {pid}, parents.get(pid)
            while at in parents and at not in chain:
                chain.add(at)
                at = parents[at]
            if chain == set(parents):
                return True
    return False


class DaemonSetWorkload(ABC):
    clonable = False  # its pods live in the nodes and loop: a node's clone would need its pods started anew

    def __init__(self, spec: DeployerSpec, manifest: Manifest, secrets: SecretRegistry) -> None:
        if manifest.daemonset is None:
            raise HarnessError("holds no DaemonSet", where=spec.manifest)
        if not spec.nodes:
            raise HarnessError(
                "`cluster.nodes` is missing: a DaemonSet runs on the nodes of a cluster",
                where=spec.path,
                fix="replace `machines` by `cluster: {nodes: {w1: {labels: {...}}, ...}}`",
            )
        self.spec, self.manifest, self.secrets = spec, manifest, secrets
        self.daemonset: DaemonSetSpec = manifest.daemonset
        # Where the current manifest's rules place the daemon: what the drift and placement checks target, and
        # what the deployer's tests are told (the rollout of a previous version may have placed it elsewhere).
        decisions = schedule(self.daemonset.pod.placement, list(spec.nodes))
        self.schedule: dict[str, Decision] = {d.node: d for d in decisions}

    def moved_to(self, testbed: Testbed) -> DaemonSetWorkload:
        raise HarnessError("a DaemonSet's nodes are not cloned: its drift suite runs on the cluster itself")

    def apply(self, version: Version) -> Rollout:
        return self._roll_out(version.manifest.daemonset or self.daemonset, version)

    @abstractmethod
    def _roll_out(self, ds: DaemonSetSpec, version: Version) -> Rollout: ...

    @abstractmethod
    def _pods(self) -> dict[str, tuple[str, str]]:
        """Node -> (pod name, image) of the DaemonSet's pods now."""

    def placements(self) -> dict[str, Placement]:
        pods = self._pods()
        placed = {}
        for node in self.spec.nodes:
            decision = self.schedule[node.name]
            placed[node.name] = Placement(node.name, decision.runs, decision.reason, *pods.get(node.name, (None, None)))
        return placed

    def cluster_info(self) -> dict[str, Any] | None:
        placements = self.placements()
        return {
            "daemonset": self.daemonset.name,
            "nodes": {
                node.name: {
                    "labels": node.labels,
                    "taints": [str(t) for t in node.taints],
                    "scheduled": placements[node.name].targeted,
                    "pod": placements[node.name].pod,
                }
                for node in self.spec.nodes
            },
        }

    def first_pass(self) -> str:
        """Wait until the pods on the targeted nodes have finished their first pass (what the watch is derived
        from), and say what told: the readiness probe, which the rollout waited for; else each pod found between
        two passes (only its shell and ``sleep`` running, twice in a row, with nothing logged in between); where
        the pods cannot be looked into (kind), each pod's log saying nothing new for a while."""
        if self.daemonset.pod.containers[0].readiness_exec:
            return "the readiness probe (the rollout waited for it)"
        nodes = [name for name, placement in self.placements().items() if placement.targeted]
        if not nodes:
            return "no pod to wait for: the rules target no node"
        deadline = time.monotonic() + self.spec.drift.heal_seconds
        looked: dict[str, tuple[bool, int, float]] = {}  # node -> (idle, log length, since) at the last look
        signals: set[str] = set()
        while nodes:
            for node in list(nodes):
                signal = self._between_passes(node, looked)
                if signal is not None:
                    nodes.remove(node)
                    signals.add(signal)
            if nodes and time.monotonic() > deadline:
                return f"none: the pods on {', '.join(nodes)} were still busy when the drift heal time ran out"
            time.sleep(POLL_SECONDS if nodes else 0)
        return "; ".join(sorted(signals))

    def _between_passes(self, node: str, looked: dict[str, tuple[bool, int, float]]) -> str | None:
        names, length, now = self.processes(node), len(self.logs(node)), time.monotonic()
        was_idle, was_length, since = looked.get(node, (False, -1, now))
        if names is None:  # cannot look inside the pod: its log must say nothing new for a while
            looked[node] = (False, length, since if length == was_length else now)
            quiet = length == was_length and now - since >= QUIET_SECONDS
            return f"the pods' logs (nothing new for {QUIET_SECONDS:g} s)" if quiet else None
        idle = waiting_on_sleep(names)
        looked[node] = (idle, length, now)
        if idle and was_idle and length == was_length:
            return "the pods between two passes (only `sleep` and the processes waiting for it, twice in a row)"
        return None

    def processes(self, target: str) -> list[tuple[int, int, str]] | None:
        """The processes in the DaemonSet's pod on this node (pid, parent pid, name); None where they cannot be
        seen."""
        return None

    def drift_strategy(self, converged: Converged) -> PodDrift:
        return PodDrift(self, converged)

    def pod_logs(self) -> dict[str, str]:
        return {name: self.logs(name) for name, placement in self.placements().items() if placement.pod is not None}

    @abstractmethod
    def start(self) -> None: ...

    @abstractmethod
    def runners(self) -> dict[str, ScriptRunner]: ...

    @abstractmethod
    def logs(self, target: str) -> str:
        """What the DaemonSet's pod on this node logged (``kubectl logs``)."""

    @abstractmethod
    def exec(self, target: str, argv: tuple[str, ...]) -> tuple[int, str]:
        """A command in the DaemonSet's pod on this node, as ``kubectl exec`` runs it."""

    @abstractmethod
    def verify_targets(self) -> dict[str, dict[str, str]]: ...

    @abstractmethod
    def shell_hints(self) -> list[str]: ...

    @abstractmethod
    def close(self) -> None:
        """Undo what the DaemonSet left outside the deployment's testbed."""
