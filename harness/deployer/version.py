"""What an apply rolls out, and what any apply reports: the shapes the workloads, the deployment and the drift
suite share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from harness.k8s.manifest import Manifest


@dataclass(frozen=True)
class Version:
    """An image, and the manifest it runs with (a previous version brings its own)."""

    label: str  # current, previous, or a rollout's name
    image: str
    manifest: Manifest


class ApplyResult(Protocol):
    """A Job run or a DaemonSet rollout, as the reports show it."""

    @property
    def succeeded(self) -> bool: ...

    @property
    def ran_seconds(self) -> float | None:
        """What the deployer's own processes ran (a Job's pods); None where that is not told apart."""
        ...

    def summary(self) -> str: ...

    def describe(self) -> str: ...
