"""Workloads: how a deployer's manifest runs. :func:`make_workload` is the one place that picks the kind."""

from __future__ import annotations

from harness.cluster.kind import KindCluster
from harness.deployer.spec import DeployerSpec
from harness.k8s.manifest import Manifest
from harness.secrets import SecretRegistry
from harness.testbed import Testbed
from harness.workloads.base import ApplyResult, Placement, Version, Workload
from harness.workloads.job import JobWorkload
from harness.workloads.kind import KindDaemonSet
from harness.workloads.sim import SimDaemonSet

__all__ = ["ApplyResult", "Placement", "Version", "Workload", "make_workload", "runs_on_kind"]


def make_workload(
    spec: DeployerSpec, manifest: Manifest, testbed: Testbed, secrets: SecretRegistry, kind: KindCluster | None
) -> Workload:
    """A Job runs on the testbed's machines; a DaemonSet on the simulated cluster's nodes (the testbed's), or on
    the run's kind cluster when it has one."""
    if manifest.daemonset is None:
        return JobWorkload(spec, manifest, testbed, secrets)
    if kind is not None:
        return KindDaemonSet(spec, manifest, kind, secrets)
    return SimDaemonSet(spec, manifest, testbed, secrets)


def runs_on_kind(spec: DeployerSpec, cluster: str) -> bool:
    """Whether the deployer's workload needs the run's kind cluster: a DaemonSet, with ``--cluster kind``."""
    return cluster == "kind" and spec.workload == "daemonset"
