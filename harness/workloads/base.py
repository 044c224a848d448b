"""What every workload does for a deployment, whatever runs it: a Job over SSH, or a DaemonSet on the simulated
cluster or on kind. The deployment, the checks and the drift suite see only this."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from harness.deployer.sources import sources
from harness.deployer.spec import DeployerSpec
from harness.deployer.version import ApplyResult, Version
from harness.state.tracker import ScriptRunner

if TYPE_CHECKING:
    from harness.drift.strategies import Converged
    from harness.drift.suite import DriftStrategy
    from harness.testbed import Testbed

__all__ = ["ApplyResult", "Placement", "Version", "Workload", "sources"]


@dataclass(frozen=True)
class Placement:
    """Whether the workload reaches a machine (a Job: every host; a DaemonSet: the nodes its rules target)."""

    machine: str
    targeted: bool
    reason: str = ""  # why the rules place it there or not
    pod: str | None = None  # a DaemonSet's pod there, and the image it runs
    image: str | None = None


class Workload(Protocol):
    spec: DeployerSpec
    clonable: bool  # whether :meth:`moved_to` works: a Job's hosts can be cloned; a cluster's nodes cannot yet

    def moved_to(self, testbed: Testbed) -> Workload:
        """The same workload on another testbed (clones of its machines), for the drift suite's lanes."""
        ...

    def start(self) -> None:
        """Start what the workload runs on (its machines or nodes): ready when this returns."""
        ...

    def apply(self, version: Version) -> ApplyResult:
        """Run the Job once, or roll the DaemonSet out (an unchanged one restarts its pods)."""
        ...

    def first_pass(self) -> str | None:
        """After the first apply: wait until it has really finished (a DaemonSet's pods their first pass), and say
        what told; None for a Job, which is done when its pod is."""
        ...

    def runners(self) -> dict[str, ScriptRunner]:
        """Each machine's (or node's) shell, for snapshots and mutations."""
        ...

    def placements(self) -> dict[str, Placement]: ...

    def verify_targets(self) -> dict[str, dict[str, str]]:
        """How the deployer's testinfra tests reach each machine."""
        ...

    def cluster_info(self) -> dict[str, Any] | None:
        """What a DaemonSet deployer's tests may ask about the cluster (the ``cluster`` fixture); None for Jobs."""
        ...

    def drift_strategy(self, converged: Converged) -> DriftStrategy:
        """How the drift suite checks and heals this workload, from the converged machines."""
        ...

    def pod_logs(self) -> dict[str, str]:
        """What the workload's running pods have logged, by machine, for a verdict's evidence: a DaemonSet's
        daemons (a failing verify's cause is often there); none for a Job, whose log is its apply's."""
        ...

    def shell_hints(self) -> list[str]: ...

    def close(self) -> None:
        """Undo what the workload left outside its testbed (the deployment removes the testbed itself)."""
        ...
