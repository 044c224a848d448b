"""What a DaemonSet deployer's workload does on either cluster backend: placements from its last rollout, the
``cluster`` fixture's data, and the drift strategy of pods that loop."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from harness.cluster.rollout import Rollout
from harness.deployer.spec import DeployerSpec
from harness.errors import HarnessError
from harness.k8s.manifest import DaemonSetSpec, Manifest
from harness.secrets import SecretRegistry
from harness.state.tracker import ScriptRunner
from harness.workloads.base import Placement, Version

if TYPE_CHECKING:
    from harness.drift.strategies import PodDrift
    from harness.state.command import Watch
    from harness.state.model import Snapshot
    from harness.state.tracker import StateTracker


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
        self.last: Rollout | None = None

    def apply(self, version: Version) -> Rollout:
        self.last = self._roll_out(version.manifest.daemonset or self.daemonset, version)
        return self.last

    @abstractmethod
    def _roll_out(self, ds: DaemonSetSpec, version: Version) -> Rollout: ...

    @abstractmethod
    def _pods(self) -> dict[str, tuple[str, str]]:
        """Node -> (pod name, image) of the DaemonSet's pods now."""

    def placements(self) -> dict[str, Placement]:
        decisions = {d.node: d for d in (self.last.decisions if self.last is not None else [])}
        pods = self._pods()
        placements = {}
        for node in self.spec.nodes:
            decision = decisions.get(node.name)
            pod, image = pods.get(node.name, (None, None))
            reason = decision.reason if decision is not None else "not rolled out yet"
            placements[node.name] = Placement(node.name, bool(decision and decision.runs), reason, pod, image)
        return placements

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

    def drift_strategy(
        self, tracker: StateTracker, converged: dict[str, Snapshot], watches: dict[str, Watch], current: Version
    ) -> PodDrift:
        from harness.drift.strategies import PodDrift

        return PodDrift(self, tracker, converged, watches, current)

    @abstractmethod
    def start(self) -> None: ...

    @abstractmethod
    def runners(self) -> dict[str, ScriptRunner]: ...

    @abstractmethod
    def logs(self, target: str) -> str: ...

    @abstractmethod
    def exec(self, target: str, argv: tuple[str, ...]) -> tuple[int, str]: ...

    @abstractmethod
    def verify_targets(self) -> dict[str, dict[str, str]]: ...

    @abstractmethod
    def shell_hints(self) -> list[str]: ...

    @abstractmethod
    def close(self) -> None: ...
