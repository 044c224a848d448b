"""A Job + SSH deployer: its pod runs with Docker on the test network, against the spec's machines; the drift
check is a variant of it (a CronJob's jobTemplate, or the deployer's own Job with another command)."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from typing import Any

import docker.errors

from harness.deployer.containers import deployer_container
from harness.deployer.spec import DeployerSpec
from harness.drift.strategies import Converged, JobDrift
from harness.errors import HarnessError
from harness.hosts.setup import prepare
from harness.images.catalog import ROOTFS
from harness.k8s.addresses import AddressMap
from harness.k8s.manifest import JobSpec, Manifest, load_manifest
from harness.k8s.pod_env import Sources
from harness.runner.job import JobResult, JobRun, ReadOnlyVolumes, prepare_volumes, run_job
from harness.runner.sandbox import PodSandboxes
from harness.secrets import SecretRegistry
from harness.state.tracker import ScriptRunner
from harness.testbed import Testbed
from harness.threads import DaemonCall
from harness.workloads.base import Placement, Version, sources


class JobWorkload:
    clonable = True

    def __init__(self, spec: DeployerSpec, manifest: Manifest, testbed: Testbed, secrets: SecretRegistry) -> None:
        if manifest.job is None:
            raise HarnessError(
                "holds no Job or DaemonSet",
                where=spec.manifest,
                fix="a Job + SSH deployer needs a `kind: Job` document (batch/v1), a node configurator a DaemonSet",
            )
        if spec.nodes:
            raise HarnessError(
                "`cluster` is given, but the manifest holds a Job",
                where=spec.path,
                fix="a Job deployer names its hosts under `machines`",
            )
        self.spec, self.manifest, self.job, self.testbed, self.secrets = spec, manifest, manifest.job, testbed, secrets
        self.container = deployer_container(spec, self.job)  # fail early on an ambiguous pod
        self.kept = ReadOnlyVolumes()  # its testbed's: removed with it
        self._sandboxes: PodSandboxes | None = None
        if spec.drift.manifest is not None:  # its Secrets are masked from the start; its errors fail the drift step
            with contextlib.suppress(HarnessError):
                secrets.read(load_manifest(spec.drift.manifest))

    def moved_to(self, testbed: Testbed) -> JobWorkload:
        return JobWorkload(self.spec, self.manifest, testbed, self.secrets)

    def start(self) -> None:
        self.testbed.start(self.spec.machines, mirror=self.spec.mirror, world=self.spec.world)
        for spec in self.spec.machines:  # the hosts as they really are, before anything is scanned
            prepare(self.testbed.machines[spec.name], spec.setup, str(self.spec.path))
        self.secrets.add(self.testbed.key.private_openssh)
        sandboxes = self._pod_sandboxes()
        sandboxes.prepare(self.job.name)  # the first pod's, while the machines are scanned
        filler = sandboxes.image  # any image fills a volume: its container never starts
        DaemonCall(lambda: self._prepare_volumes(filler), "pod-volumes")  # likewise (closing waits for it)

    def _prepare_volumes(self, filler: str) -> None:
        """The current version's Secret and configMap volumes, filled before its first pod asks for them. Any error
        is left for that pod to meet (and report) itself."""
        with contextlib.suppress(HarnessError, docker.errors.APIError, OSError):
            run = self._job_run(self.container, filler, self._sources(self.manifest))
            prepare_volumes(self.testbed.bench.client, self.testbed.ownership, self.job, run, filler)

    def apply(self, version: Version) -> JobResult:
        job = version.manifest.job or self.job
        given = self._sources(version.manifest)  # the ConfigMaps and Secrets of the version applied
        return self._run(job, deployer_container(self.spec, job), version.image, given)

    def check_drift(self, image: str) -> JobResult:
        """The deployer's drift check, once, as its CronJob (or Job) would run it, or as its own Job with the
        spec's command: same image, env, mounts and Secrets. No retries: the first pod's exit code is the verdict."""
        job, container, manifest = self._drift_check
        extra, own = self._sources(manifest), self._sources(self.manifest)  # the deployer's over the check's own
        given = dataclasses.replace(
            own, secrets={**extra.secrets, **own.secrets}, config_maps={**extra.config_maps, **own.config_maps}
        )
        return self._run(dataclasses.replace(job, backoff_limit=0), container, image, given)

    def _sources(self, manifest: Manifest) -> Sources:
        known_hosts = self.testbed.known_hosts(self.spec.machines)
        return sources(self.spec, manifest, self.testbed.key.private_openssh, self.manifest.namespace, known_hosts)

    @property
    def _dns(self) -> tuple[str, ...]:
        return (self.testbed.world.address,) if self.testbed.world is not None else ()

    def _run(self, job: JobSpec, container: str, image: str, given: Sources) -> JobResult:
        return run_job(self.testbed.bench.client, self.testbed.ownership, job, self._job_run(container, image, given))

    def _job_run(self, container: str, image: str, given: Sources) -> JobRun:
        machines, bench = self.testbed.machines, self.testbed.bench
        return JobRun(
            network=self.testbed.network,
            images={container: image},
            addresses=AddressMap({m.address: machines[m.name].address for m in self.spec.machines if m.address}),
            sources=given,
            backoff_seconds=self.spec.backoff_seconds,
            deadline=(self.spec.deadline_seconds, self.spec.deadline_source),
            kept=self.kept,
            sandboxes=self._pod_sandboxes(),
            dns=self._dns,
            trusted_ca=bench.world_ca.cert_pem if self.testbed.world is not None else None,
        )

    def _pod_sandboxes(self) -> PodSandboxes:
        """Made on the first pod: the testbed's network exists by then."""
        if self._sandboxes is None:
            bench = self.testbed.bench
            image = bench.builder.ensure(ROOTFS)
            network = self.testbed.network
            self._sandboxes = PodSandboxes(bench.client, self.testbed.ownership, network, image, self._dns)
        return self._sandboxes

    @functools.cached_property
    def _drift_check(self) -> tuple[JobSpec, str, Manifest]:
        drift = self.spec.drift
        if drift.manifest is None and drift.command is not None:  # the deployer's own Job, running the check
            containers = tuple(
                dataclasses.replace(c, command=drift.command, args=None) if c.name == self.container else c
                for c in self.job.pod.containers
            )
            job = dataclasses.replace(self.job, pod=dataclasses.replace(self.job.pod, containers=containers))
            return job, self.container, self.manifest
        assert drift.manifest is not None, "a drift check is a manifest or a command"
        manifest = self.secrets.read(load_manifest(drift.manifest))
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

    def first_pass(self) -> None:
        return None

    def runners(self) -> dict[str, ScriptRunner]:
        return self.testbed.runners()

    def placements(self) -> dict[str, Placement]:
        return {name: Placement(name, True, "a host of the Job") for name in self.testbed.machines}

    def verify_targets(self) -> dict[str, dict[str, str]]:
        return self.testbed.verify_targets()

    def cluster_info(self) -> dict[str, Any] | None:
        return None

    def drift_strategy(self, converged: Converged) -> JobDrift:
        return JobDrift(self, converged)

    def pod_logs(self) -> dict[str, str]:
        return {}

    def shell_hints(self) -> list[str]:
        return self.testbed.shell_hints()

    def close(self) -> None:
        """Its pods are gone when each run ends; the sandboxes made ahead for the next go now (its volumes carry
        the testbed's labels)."""
        self.kept.close()  # a volume being filled ahead is waited for; none is made after the testbed's removal
        if self._sandboxes is not None:
            self._sandboxes.close()
