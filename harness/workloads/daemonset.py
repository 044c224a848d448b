"""What a DaemonSet deployer's workload does on either cluster backend: placements from the current manifest's
scheduling rules, the ``cluster`` fixture's data, and the drift strategy of pods that loop."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from harness.cluster.rollout import Rollout
from harness.deployer.spec import DeployerSpec
from harness.drift.strategies import Converged, PodDrift
from harness.errors import HarnessError
from harness.k8s.manifest import DaemonSetSpec, Manifest
from harness.k8s.scheduling import Decision, schedule
from harness.secrets import SecretRegistry
from harness.state.tracker import ScriptRunner
from harness.workloads.base import Placement, Version


class DaemonSetWorkload(ABC):
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

    def drift_strategy(self, converged: Converged) -> PodDrift:
        return PodDrift(self, converged)

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
