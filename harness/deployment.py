"""One deployer against its simulated machines: network, machines, Job runs, verification."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import TracebackType

from docker.models.networks import Network

from harness.deployer.spec import DeployerSpec
from harness.engine.labels import SCOPE, Ownership
from harness.engine.sweep import remove_labelled
from harness.errors import HarnessError
from harness.hosts.keys import KeyPair, generate
from harness.hosts.machine import Machine, MachineRequest, start_machines
from harness.hosts.network import create_internal_network
from harness.k8s.manifest import JobSpec, Manifest, load_manifest
from harness.runner.addresses import AddressMap
from harness.runner.job import JobResult, JobRun, run_job
from harness.runner.pod_env import Sources
from harness.state.diff import masker
from harness.state.tracker import ScriptRunner, StateTracker
from harness.workbench import Workbench


@dataclass
class Deployment:
    bench: Workbench
    spec: DeployerSpec
    keep: bool = False
    manifest: Manifest = field(init=False)
    network: Network | None = field(default=None, init=False)
    machines: dict[str, Machine] = field(default_factory=dict, init=False)
    key: KeyPair | None = field(default=None, init=False)
    runs: list[JobResult] = field(default_factory=list, init=False)
    state: StateTracker = field(init=False)
    ownership: Ownership = field(init=False)

    def __post_init__(self) -> None:
        self.ownership = self.bench.ownership.scoped()  # everything this deployment makes, removed together
        self.manifest = load_manifest(self.spec.manifest)
        if self.manifest.job is None:
            raise HarnessError(
                "holds no Job",
                where=self.spec.manifest,
                fix="a Job + SSH deployer needs a `kind: Job` document (batch/v1)",
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
        bench = self.bench
        images = {m.kind: bench.machine_image(m.kind) for m in self.spec.machines}
        self.network = create_internal_network(bench.client, self.ownership, self.spec.name)
        self.key = generate(bench.workdir / self.network.name)
        requests = [MachineRequest(m.name, images[m.kind], m.kind, m.hostname, m.aliases) for m in self.spec.machines]
        started = start_machines(bench.client, bench.capabilities, self.network, requests, self.key, self.ownership)
        self.machines = {m.name: m for m in started}
        runners: dict[str, ScriptRunner] = {m.name: m.run_script for m in started}
        self.state = StateTracker(runners, self.spec.state, masker(self.secret_values()))

    def secret_values(self) -> list[str]:
        """Everything secret this deployment hands out: masked wherever host content is shown."""
        sources = (self.manifest.secrets, self.spec.secrets)
        values = [value for source in sources for entries in source.values() for value in entries.values()]
        return values + ([self.key.private_openssh] if self.key else [])

    def apply(self, image: str | None = None) -> JobResult:
        """Run the Job once, as Kubernetes would, with the deployer's image (by default the current one)."""
        assert self.network is not None and self.key is not None, "start() first"
        addresses = AddressMap({m.address: self.machines[m.name].address for m in self.spec.machines if m.address})
        secrets = {**self.manifest.secrets, **self.spec.secrets}
        if self.spec.ssh_key is not None:
            ssh = self.spec.ssh_key
            secrets[ssh.secret] = {**secrets.get(ssh.secret, {}), ssh.key: self.key.private_openssh}
        run = JobRun(
            network=self.network,
            images={self._deployer_container(): image or self.bench.deployer_image(self.spec)},
            addresses=addresses,
            sources=Sources(secrets, {**self.manifest.config_maps, **self.spec.config_maps}, str(self.spec.path)),
            backoff_seconds=self.spec.backoff_seconds,
        )
        result = run_job(self.bench.client, self.ownership, self.job, run)
        self.runs.append(result)
        return result

    def _deployer_container(self) -> str:
        names = [c.name for c in self.job.pod.containers]
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

    def shell_hints(self) -> list[str]:
        return [m.shell_hint() for m in self.machines.values()]

    def close(self) -> None:
        for machine in self.machines.values():
            machine.close()
        if not self.keep:
            # By label, not through the network: a machine that stopped (a deployer ran `poweroff`)
            # or never started is no longer listed on it.
            remove_labelled(self.bench.client, SCOPE, self.ownership.scope)
            self.network = None
