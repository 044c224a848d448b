"""A DaemonSet on the simulated cluster: node containers on the deployment's testbed, pods inside them."""

from __future__ import annotations

from harness.cluster.pod_images import NODE_PATH as POD_IMAGES
from harness.cluster.pod_images import cache_volume, unpacked
from harness.cluster.rollout import Rollout
from harness.cluster.sim import SimCluster, SimNode
from harness.deployer.spec import NODE_KIND, DeployerSpec
from harness.k8s.manifest import DaemonSetSpec, Manifest
from harness.k8s.pod_env import Sources
from harness.secrets import SecretRegistry
from harness.state.tracker import ScriptRunner
from harness.testbed import Testbed
from harness.workloads.base import Version, sources
from harness.workloads.daemonset import DaemonSetWorkload

POD_BACKOFF_CAP = 8  # Kubernetes: 10 s doubling to 300 s; compressed, the first wait comes from the spec
POD_BACKOFF_RESET = 60  # a container that ran this long starts its back-off over (Kubernetes: 10 min)


def pod_backoff(seconds: float) -> tuple[int, int, int]:
    first = max(1, round(seconds))
    return first, max(first, POD_BACKOFF_CAP), POD_BACKOFF_RESET


class SimDaemonSet(DaemonSetWorkload):
    def __init__(self, spec: DeployerSpec, manifest: Manifest, testbed: Testbed, secrets: SecretRegistry) -> None:
        super().__init__(spec, manifest, secrets)
        self.testbed = testbed
        self._cluster: SimCluster | None = None

    @property
    def cluster(self) -> SimCluster:
        assert self._cluster is not None, "the deployment starts its workload when it is made"
        return self._cluster

    def start(self) -> None:
        bench = self.testbed.bench
        # Nodes mount the pod image cache: a pod's root is an overlay over its image, unpacked once.
        volume = (cache_volume(bench.client), POD_IMAGES, "ro")
        self.testbed.start(self.spec.machines, mirror=self.spec.mirror, volumes=[volume], world=self.spec.world)
        self.secrets.add(self.testbed.key.private_openssh)
        node_image = bench.machine_image(NODE_KIND)
        self._cluster = SimCluster(
            bench.client,
            [SimNode(node, self.testbed.machines[node.name]) for node in self.spec.nodes],
            lambda image: unpacked(bench.client, self.testbed.ownership, image, node_image),
            backoff=pod_backoff(self.spec.backoff_seconds),
        )

    def sources(self, manifest: Manifest) -> Sources:
        """The ConfigMaps and Secrets a version's manifest runs with."""
        return sources(self.spec, manifest, self.testbed.key.private_openssh, self.manifest.namespace)

    def _roll_out(self, ds: DaemonSetSpec, version: Version) -> Rollout:
        return self.cluster.apply(ds, version.image, self.sources(version.manifest))

    def _pods(self) -> dict[str, tuple[str, str]]:
        return {node: (pod.name, pod.image) for node, pod in self.cluster.pods.items()}

    def runners(self) -> dict[str, ScriptRunner]:
        return self.testbed.runners()

    def logs(self, target: str) -> str:
        return self.cluster.logs(target)

    def processes(self, target: str) -> list[tuple[int, int, str]] | None:
        return self.cluster.processes(target)

    def exec(self, target: str, argv: tuple[str, ...]) -> tuple[int, str]:
        return self.cluster.exec(target, argv)

    def verify_targets(self) -> dict[str, dict[str, str]]:
        return self.testbed.verify_targets()

    def shell_hints(self) -> list[str]:
        return self.testbed.shell_hints()

    def close(self) -> None:
        """Its pods live inside the nodes, which the deployment's testbed removes."""
