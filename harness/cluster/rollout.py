"""What one DaemonSet rollout did, on either cluster backend: the kubectl-style log, where pods were placed,
and whether it finished."""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.k8s.scheduling import Decision


@dataclass
class Rollout:
    """What one apply did: the kubectl-style log, the decisions, and whether it finished."""

    daemonset: str
    succeeded: bool = False
    lines: list[str] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    seconds: float = 0.0
    pod_logs: dict[str, str] = field(default_factory=dict)
    batches: list[list[str]] = field(default_factory=list)  # nodes whose pods were replaced together
    nowhere: bool = False  # its rules match no node: see mark_nowhere

    @property
    def ran_seconds(self) -> None:
        """Pods that loop never finish: their run time is not the deployer's apply."""
        return None

    @property
    def reason(self) -> str:
        if self.nowhere:
            return "scheduled on no node"
        return "rolled out" if self.succeeded else "rollout did not finish"

    def mark_nowhere(self) -> None:
        """Its rules match no node. `kubectl rollout status` calls that done; here it is a failed apply, since
        nothing got configured anywhere (each node's reason follows in :meth:`describe`)."""
        self.nowhere, self.succeeded = True, False
        self.lines = [line for line in self.lines if not line.endswith("successfully rolled out")]
        self.lines.append(
            f'daemon set "{self.daemonset}": its rules match none of the {len(self.decisions)} node(s), so no pod '
            "runs anywhere"
        )

    def summary(self) -> str:
        scheduled = sum(d.runs for d in self.decisions)
        if self.nowhere:
            return f"scheduled on no node: none of the {len(self.decisions)} match its rules"
        return f"{self.reason} on {scheduled} of {len(self.decisions)} node(s) in {self.seconds:.1f} s"

    def describe(self) -> str:
        parts = [f'daemon set "{self.daemonset}": {self.summary()}', *self.lines]
        parts += [f"  {d.node}: {d.reason}" for d in self.decisions]
        for pod, log in self.pod_logs.items():
            parts.append(f"--- logs of pod {pod}")
            parts += [f"    | {line}" for line in log.strip().splitlines()[-40:]]
        return "\n".join(parts)
