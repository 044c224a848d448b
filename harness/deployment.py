"""One deployer against its simulated machines: network, machines (or cluster nodes), Job runs or DaemonSet rollouts."""

from __future__ import annotations

import dataclasses
import functools
import shlex
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from uuid import uuid4

from docker.models.networks import Network

from harness.cluster.kind import KindCluster, render_objects
from harness.cluster.pod_images import NODE_PATH as POD_IMAGES
from harness.cluster.pod_images import cache_volume, unpacked
from harness.cluster.sim import Rollout, SimCluster, SimNode
from harness.deployer.spec import NODE_KIND, DeployerSpec
from harness.engine.labels import SCOPE, Ownership
from harness.engine.sweep import remove_labelled
from harness.errors import HarnessError
from harness.hosts.keys import KeyPair, generate
from harness.hosts.machine import Machine, MachineRequest, start_machines
from harness.hosts.mirror import APT_CONFIG, start_mirror
from harness.hosts.network import create_internal_network
from harness.k8s.addresses import AddressMap
from harness.k8s.manifest import JobSpec, Manifest, load_manifest
from harness.k8s.pod_env import Sources
from harness.k8s.scheduling import schedule
from harness.rollback.version import PreviousVersion, previous_version
from harness.runner.job import JobResult, JobRun, run_job
from harness.state.diff import masker
from harness.state.tracker import ScriptRunner, StateTracker
from harness.workbench import Workbench

MIRROR_KIND = "apt-mirror"
POD_BACKOFF_CAP = 8  # Kubernetes: 10 s doubling to 300 s; compressed, the first wait comes from the spec
POD_BACKOFF_RESET = 60  # a container that ran this long starts its back-off over (Kubernetes: 10 min)


def _pod_backoff(seconds: float) -> tuple[int, int, int]:
    first = max(1, round(seconds))
    return first, max(first, POD_BACKOFF_CAP), POD_BACKOFF_RESET


@dataclass
class Deployment:
    bench: Workbench
    spec: DeployerSpec
    keep: bool = False
    kind: KindCluster | None = None  # DaemonSets on the run's kind cluster instead of simulated nodes
    manifest: Manifest = field(init=False)
    network: Network | None = field(default=None, init=False)
    machines: dict[str, Machine] = field(default_factory=dict, init=False)
    key: KeyPair | None = field(default=None, init=False)
    runs: list[JobResult | Rollout] = field(default_factory=list, init=False)
    cluster: SimCluster | None = field(default=None, init=False)
    state: StateTracker = field(init=False)
    stamps: list[tuple[str, dict[str, str | None]]] = field(default_factory=list, init=False)  # (version, stamps)
    _manifests_read: list[Manifest] = field(default_factory=list, init=False)
    ownership: Ownership = field(init=False)

    def __post_init__(self) -> None:
        self.ownership = self.bench.ownership.scoped()  # everything this deployment makes, removed together
        self.manifest = load_manifest(self.spec.manifest)
        if self.manifest.daemonset is not None:
            if not self.spec.nodes:
                raise HarnessError(
                    "`cluster.nodes` is missing: a DaemonSet runs on the nodes of a cluster",
                    where=self.spec.path,
                    fix="replace `machines` by `cluster: {nodes: {w1: {labels: {...}}, ...}}`",
                )
            return
        if self.manifest.job is None:
            raise HarnessError(
                "holds no Job or DaemonSet",
                where=self.spec.manifest,
                fix="a Job + SSH deployer needs a `kind: Job` document (batch/v1), a node configurator a DaemonSet",
            )
        if self.spec.nodes:
            raise HarnessError(
                "`cluster` is given, but the manifest holds a Job",
                where=self.spec.path,
                fix="a Job deployer names its hosts under `machines`",
            )
        self._deployer_container()  # fail early on an ambiguous pod

    @property
    def job(self) -> JobSpec:
        assert self.manifest.job is not None
        return self.manifest.job

    def __enter__(self) -> Deployment:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def start(self) -> None:
        if self.kind is not None:  # the nodes are kind's: node state through docker exec
            self._track({node: self.kind.runner(node) for node in self.kind.nodes})
            return
        bench = self.bench
        images = {m.kind: bench.machine_image(m.kind) for m in self.spec.machines}
        self.network = create_internal_network(bench.client, self.ownership, self.spec.name)
        self.key = generate(bench.workdir / self.network.name)
        # Nodes mount the pod image cache: a pod's root is an overlay over its image, unpacked once.
        volumes = ((cache_volume(bench.client), POD_IMAGES, "ro"),) if self.spec.nodes else ()
        files = (APT_CONFIG,) if self.spec.mirror else ()
        requests = [
            MachineRequest(m.name, images[m.kind], m.kind, m.hostname, m.aliases, volumes, files)
            for m in self.spec.machines
        ]
        with ThreadPoolExecutor(max_workers=1) as pool:  # the mirror starts while the machines boot
            mirror = (
                pool.submit(start_mirror, bench.client, self.ownership, self.network, bench.machine_image(MIRROR_KIND))
                if self.spec.mirror
                else None
            )
            started = start_machines(bench.client, bench.capabilities, self.network, requests, self.key, self.ownership)
            if mirror is not None:
                mirror.result()
        self.machines = {m.name: m for m in started}
        if self.spec.nodes:
            self.cluster = SimCluster(
                bench.client,
                [SimNode(node, self.machines[node.name]) for node in self.spec.nodes],
                self._sources(),
                AddressMap({}),
                lambda image: unpacked(bench.client, self.ownership, image, images[NODE_KIND]),
                backoff=_pod_backoff(self.spec.backoff_seconds),
            )
        self._track({m.name: m.run_script for m in started})

    def _track(self, runners: dict[str, ScriptRunner]) -> None:
        """Snapshots of these machines, with every secret of the run masked in what they show."""
        self.state = StateTracker(runners, self.spec.state, masker(self.secret_values()))

    def secret_values(self) -> list[str]:
        """Everything secret this deployment hands out: masked wherever host content is shown. The drift check's
        manifest and the previous version's count too, once they are read."""
        manifests = [self.manifest, *self._manifests_read]
        sources = [*(m.secrets for m in manifests), self.spec.secrets]
        values = [value for source in sources for entries in source.values() for value in entries.values()]
        return values + ([self.key.private_openssh] if self.key else [])

    def _read(self, manifest: Manifest) -> Manifest:
        """A manifest besides the deployer's own: its Secrets are masked from now on."""
        if manifest not in self._manifests_read:
            self._manifests_read.append(manifest)
        if hasattr(self, "state"):
            self.state.mask = masker(self.secret_values())
        return manifest

    def apply(self, image: str | None = None, manifest: Manifest | None = None) -> JobResult | Rollout:
        """Run the Job once, or roll the DaemonSet out, as Kubernetes would, with the deployer's image (by default
        the current one) and workload (by default the current manifest's; a previous version brings its own).
        Applying an unchanged DaemonSet restarts its pods, as ``kubectl rollout restart`` does."""
        manifest = manifest if manifest is not None and (manifest.job or manifest.daemonset) else self.manifest
        image = image or self.bench.deployer_image(self.spec)
        sources = self._sources(manifest)  # the ConfigMaps and Secrets of the version applied
        if self.manifest.daemonset is not None:
            ds = manifest.daemonset or self.manifest.daemonset
            if self.kind is not None:
                objects = render_objects(manifest.path, image, sources.secrets, sources.config_maps, uuid4().hex)
                rollout = self.kind.apply(objects, ds, image)
            else:
                assert self.cluster is not None, "start() first"
                rollout = self.cluster.apply(ds, image, sources=sources)
            self.runs.append(rollout)
            return rollout
        assert self.network is not None and self.key is not None, "start() first"
        job = manifest.job or self.job
        run = JobRun(
            network=self.network,
            images={self._deployer_container(job): image},
            addresses=self._addresses(),
            sources=sources,
            backoff_seconds=self.spec.backoff_seconds,
        )
        result = run_job(self.bench.client, self.ownership, job, run)
        self.runs.append(result)
        return result

    def check_drift(self) -> JobResult:
        """Run the deployer's drift check once, as its CronJob (or Job) would, or as its own Job with the spec's
        command: same image, env, mounts and Secrets. No retries: the first pod's exit code is the verdict."""
        assert self.network is not None, "start() first"
        job, container, extra = self._drift_job
        sources = self._sources()
        sources = Sources(
            {**extra.secrets, **sources.secrets},
            {**extra.config_maps, **sources.config_maps},
            sources.spec_path,
            sources.fields,
        )
        run = JobRun(
            network=self.network,
            images={container: self.bench.deployer_image(self.spec)},
            addresses=self._addresses(),
            sources=sources,
            backoff_seconds=self.spec.backoff_seconds,
        )
        return run_job(self.bench.client, self.ownership, dataclasses.replace(job, backoff_limit=0), run)

    @functools.cached_property
    def _drift_job(self) -> tuple[JobSpec, str, Manifest]:
        drift = self.spec.drift
        if drift.manifest is None:  # the deployer's own Job, its container running the check instead
            assert drift.command is not None, "no drift check in the spec"
            name = self._deployer_container()
            containers = tuple(
                dataclasses.replace(c, command=drift.command, args=None) if c.name == name else c
                for c in self.job.pod.containers
            )
            job = dataclasses.replace(self.job, pod=dataclasses.replace(self.job.pod, containers=containers))
            return job, name, self.manifest
        manifest = self._read(load_manifest(drift.manifest))
        jobs = [*manifest.cron_jobs.values(), *([manifest.job] if manifest.job else [])]
        if len(jobs) != 1:
            raise HarnessError(
                f"`drift.manifest` holds {len(jobs)} CronJobs and Jobs",
                where=drift.manifest,
                fix="keep the one CronJob (or Job) that runs the drift check in that file",
            )
        names = [c.name for c in jobs[0].pod.containers]
        container = drift.container or (names[0] if len(names) == 1 else None)
        if container is None or container not in names:
            given = "is not given" if drift.container is None else f"is {drift.container!r}"
            raise HarnessError(
                f"`drift.container` {given}; the drift check's containers are {', '.join(names)}",
                where=self.spec.path,
                fix="name the container that runs the deployer's image in `drift.container`",
            )
        return jobs[0], container, manifest

    @functools.cached_property
    def previous(self) -> PreviousVersion:
        """The version before this one (built once per deployment; the image is cached by content)."""
        found = previous_version(self.bench, self.spec)
        if found.manifest is not None:
            self._read(found.manifest)
        return found

    def read_stamps(self) -> dict[str, str | None]:
        """The spec's version stamp file on each machine (``rollback.stamp``), as text; None where it is missing."""
        path = self.spec.rollback.stamp
        if path is None:
            return {}
        found: dict[str, str | None] = {}
        for machine, run in self.state.runners.items():
            code, out, _ = run(f"head -c 4096 -- {shlex.quote(path)}")
            found[machine] = out.decode(errors="replace").strip() if code == 0 else None
        return found

    def _addresses(self) -> AddressMap:
        return AddressMap({m.address: self.machines[m.name].address for m in self.spec.machines if m.address})

    def _sources(self, manifest: Manifest | None = None) -> Sources:
        """Secrets and ConfigMaps as the cluster would hold them: the manifest's (by default the current one's),
        the spec's test values over them."""
        manifest = manifest or self.manifest
        secrets = {**manifest.secrets, **self.spec.secrets}
        if self.spec.ssh_key is not None and self.key is not None:
            ssh = self.spec.ssh_key
            secrets[ssh.secret] = {**secrets.get(ssh.secret, {}), ssh.key: self.key.private_openssh}
        config_maps = {**manifest.config_maps, **self.spec.config_maps}
        return Sources(secrets, config_maps, str(self.spec.path), {"metadata.namespace": self.manifest.namespace})

    def _deployer_container(self, job: JobSpec | None = None) -> str:
        names = [c.name for c in (job or self.job).pod.containers]
        if self.spec.container is not None:
            if self.spec.container not in names:
                raise HarnessError(
                    f"`container` names {self.spec.container!r}, which the Job does not have",
                    where=self.spec.path,
                    fix=f"use one of: {', '.join(names)}",
                )
            return self.spec.container
        if len(names) != 1:
            raise HarnessError(
                "the Job has several containers; which one is the deployer?",
                where=self.spec.path,
                fix=f"add `container:` with one of: {', '.join(names)}",
            )
        return names[0]

    def daemon_pods(self) -> dict[str, tuple[str, str]]:
        """Node -> (pod name, image) of the DaemonSet's pods, on either backend."""
        if self.kind is not None:
            return {node: (pod.name, pod.image) for node, pod in self.kind.pods.items()}
        if self.cluster is not None:
            return {node: (pod.name, pod.image) for node, pod in self.cluster.pods.items()}
        return {}

    def pod_logs(self, node: str) -> str:
        """The log of the DaemonSet's pod on this node."""
        if self.kind is not None:
            return self.kind.logs(node, self.manifest.namespace)
        return self.cluster.logs(node) if self.cluster is not None else ""

    def pod_exec(self, node: str, command: tuple[str, ...]) -> tuple[int, str]:
        """A command in the DaemonSet's pod on this node, as ``kubectl exec`` runs it."""
        if self.kind is not None:
            return self.kind.exec(node, self.manifest.namespace, command)
        assert self.cluster is not None, "start() first"
        return self.cluster.exec(node, command)

    def cluster_info(self) -> dict[str, Any] | None:
        """What a DaemonSet deployer's tests may ask about the cluster (the ``cluster`` fixture)."""
        if self.manifest.daemonset is None or (self.cluster is None and self.kind is None):
            return None
        pods = self.daemon_pods()
        placed = {d.node: d.runs for d in schedule(self.manifest.daemonset.pod.placement, list(self.spec.nodes))}
        return {
            "daemonset": self.manifest.daemonset.name,
            "nodes": {
                node.name: {
                    "labels": node.labels,
                    "taints": [str(t) for t in node.taints],
                    "scheduled": placed[node.name],
                    "pod": pods[node.name][0] if node.name in pods else None,
                }
                for node in self.spec.nodes
            },
        }

    def shell_hints(self) -> list[str]:
        return [m.shell_hint() for m in self.machines.values()]

    def close(self) -> None:
        if self.kind is not None and self.manifest.daemonset is not None:
            self.kind.remove_daemonset(self.manifest.daemonset)
        for machine in self.machines.values():
            machine.close()
        if not self.keep:
            # By label, not through the network: a machine that stopped (a deployer ran `poweroff`)
            # or never started is no longer listed on it.
            remove_labelled(self.bench.client, SCOPE, self.ownership.scope)
            self.network = None
