"""A DaemonSet on the run's kind cluster (``--cluster kind``): the nodes are kind's, reached with docker exec."""

from __future__ import annotations

from uuid import uuid4

from harness.cluster.kind import KindCluster, render_objects
from harness.cluster.rollout import Rollout
from harness.deployer.spec import DeployerSpec
from harness.k8s.manifest import DaemonSetSpec, Manifest
from harness.secrets import SecretRegistry
from harness.state.tracker import ScriptRunner
from harness.workloads.base import Version, sources
from harness.workloads.daemonset import DaemonSetWorkload


class KindDaemonSet(DaemonSetWorkload):
    def __init__(self, spec: DeployerSpec, manifest: Manifest, cluster: KindCluster, secrets: SecretRegistry) -> None:
        super().__init__(spec, manifest, secrets)
        self.cluster = cluster

    def start(self) -> None:
        """kind's nodes run for the whole session: nothing to start."""

    def _roll_out(self, ds: DaemonSetSpec, version: Version) -> Rollout:
        given = sources(self.spec, version.manifest, None, self.manifest.namespace)
        objects = render_objects(version.manifest.path, version.image, given.secrets, given.config_maps, uuid4().hex)
        return self.cluster.apply(objects, ds, version.image)

    def _pods(self) -> dict[str, tuple[str, str]]:
        return {node: (pod.name, pod.image) for node, pod in self.cluster.pods.items()}

    def runners(self) -> dict[str, ScriptRunner]:
        return {node: self.cluster.runner(node) for node in self.cluster.nodes}

    def logs(self, target: str) -> str:
        return self.cluster.logs(target, self.manifest.namespace)

    def exec(self, target: str, argv: tuple[str, ...]) -> tuple[int, str]:
        return self.cluster.exec(target, self.manifest.namespace, argv)

    def verify_targets(self) -> dict[str, dict[str, str]]:
        return {name: {"docker": container} for name, container in self.cluster.nodes.items()}

    def shell_hints(self) -> list[str]:
        return [f"{name}: docker exec -it {container} bash" for name, container in self.cluster.nodes.items()]

    def close(self) -> None:
        self.cluster.remove_daemonset(self.daemonset)
