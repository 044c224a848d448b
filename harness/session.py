"""One run of the harness, without pytest: sweep what dead runs left, build every image once, probe the engine,
make the kind clusters, run scenarios, and clean up. The pytest plugin is a thin layer over this.

The controller (or a run without xdist) calls :meth:`RunSession.prepare`; its :meth:`~RunSession.to_data` is
what xdist workers receive, as plain values, and :meth:`~RunSession.from_data` rebuilds it in each worker.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from harness.checks.report import MACHINES_READY, SCENARIO, SHELL, ScenarioLog
from harness.checks.steps import run_steps
from harness.cluster import kind
from harness.deployer.spec import DeployerSpec
from harness.deployment import Deployment
from harness.engine.client import connect
from harness.engine.labels import Ownership
from harness.engine.locks import build_lock
from harness.engine.probe import Capabilities
from harness.engine.sweep import sweep
from harness.errors import EngineUnavailable, HarnessError, NotApplicable
from harness.scenario.model import Scenario
from harness.secrets import SecretRegistry
from harness.testbed import MIRROR_KIND
from harness.workbench import Workbench
from harness.workloads import runs_on_kind

CLUSTERS = ("sim", "kind")
Progress = Callable[[str], None]


@dataclass
class RunSession:
    keep: bool = False
    cluster: str = "sim"  # where DaemonSets run: sim or kind
    ownership: Ownership = field(default_factory=Ownership)
    capabilities: Capabilities | None = None  # probed once, by the controller
    build_errors: dict[str, str] = field(default_factory=dict)  # deployer -> why its images did not build
    kind_clusters: dict[str, kind.KindCluster] = field(default_factory=dict)  # by deployer
    progress: Progress = lambda line: None
    _bench: Workbench | None = None

    def __post_init__(self) -> None:
        if self.cluster not in CLUSTERS:
            raise HarnessError(f"the cluster backend is {self.cluster!r}", fix=f"use one of {', '.join(CLUSTERS)}")
        if self.keep != self.ownership.keep:  # kept machines carry a label the sweep spares
            self.ownership = dataclasses.replace(self.ownership, keep=self.keep)

    @property
    def bench(self) -> Workbench:
        if self._bench is None:
            self._bench = Workbench(progress=self.progress, ownership=self.ownership, keep=self.keep)
            if self.capabilities is not None:
                self._bench.capabilities = self.capabilities
        return self._bench

    # ------------------------------------------------------------------ the controller

    def prepare(self, specs: list[DeployerSpec]) -> None:
        """Sweep dead runs, build every image once, probe the engine, make kind clusters for DaemonSets."""
        swept = sweep(connect())
        if swept:
            self.progress(str(swept))
        bench = self.bench
        for spec in specs:
            try:
                for machine in spec.machines:
                    bench.machine_image(machine.kind)
                if spec.mirror:
                    bench.machine_image(MIRROR_KIND)
                bench.deployer_image(spec)
            except HarnessError as exc:
                self.build_errors[spec.name] = str(exc)
        try:
            self.capabilities = bench.capabilities
        except HarnessError as exc:
            self.progress(str(exc))
            return
        on_kind = [s for s in specs if runs_on_kind(s, self.cluster)]
        if on_kind and kind.unavailable(self.capabilities.privileged) is None:  # else their items say why
            self._make_kind_clusters(on_kind)

    def _make_kind_clusters(self, specs: list[DeployerSpec]) -> None:
        for number, spec in enumerate(specs):
            name = f"dh-{self.ownership.run_id[:8]}-{number}"
            self.progress(f"creating kind cluster {name} for {spec.name}")
            try:
                self.kind_clusters[spec.name] = kind.KindCluster.create(name, spec.nodes, self.bench.workdir / "kind")
            except HarnessError as exc:
                self.build_errors[spec.name] = f"kind cluster {name}: {exc}"

    def finish(self) -> None:
        """Whatever this run made and did not remove (an interrupt, a crash in a worker) goes now."""
        if not self.keep:
            for cluster in self.kind_clusters.values():  # kind's containers carry kind's labels, not ours
                with contextlib.suppress(HarnessError):
                    cluster.delete()
            with contextlib.suppress(EngineUnavailable):
                sweep(connect(), run_id=self.ownership.run_id)
        self.close()

    def close(self) -> None:
        if self._bench is not None:
            self._bench.close()

    def describe(self) -> str:
        engine = self.capabilities.describe() if self.capabilities is not None else "engine not probed"
        return f"{engine}; cluster {self.cluster}; run {self.ownership.run_id}"

    # ------------------------------------------------------------------ handed to workers

    def to_data(self) -> dict[str, Any]:
        return {
            "run_id": self.ownership.run_id,
            "keep": self.keep,
            "cluster": self.cluster,
            "capabilities": dataclasses.asdict(self.capabilities) if self.capabilities else None,
            "build_errors": dict(self.build_errors),
            "kind_clusters": {name: c.as_data() for name, c in self.kind_clusters.items()},
        }

    @classmethod
    def from_data(cls, data: dict[str, Any], progress: Progress = lambda line: None) -> RunSession:
        caps = data.get("capabilities")
        return cls(
            keep=bool(data["keep"]),
            cluster=str(data["cluster"]),
            ownership=Ownership(run_id=data["run_id"]),
            capabilities=Capabilities(**caps) if caps else None,
            build_errors=dict(data.get("build_errors", {})),
            kind_clusters={n: kind.KindCluster(**c) for n, c in data.get("kind_clusters", {}).items()},
            progress=progress,
        )

    # ------------------------------------------------------------------ scenarios

    @contextlib.contextmanager
    def deployment(self, spec: DeployerSpec, secrets: SecretRegistry | None = None) -> Iterator[Deployment]:
        """The deployer on its own machines (or its kind cluster), closed afterwards."""
        if spec.name in self.build_errors:
            raise HarnessError(self.build_errors[spec.name])
        on_kind = self._kind_cluster(spec)
        # The scenarios of one deployer share its kind cluster: one at a time, also across xdist workers.
        shared = build_lock(f"kind-{on_kind.name}") if on_kind is not None else contextlib.nullcontext()
        with shared, Deployment(self.bench, spec, keep=self.keep, kind=on_kind, secrets=secrets) as deployment:
            yield deployment

    def _kind_cluster(self, spec: DeployerSpec) -> kind.KindCluster | None:
        """The run's kind cluster for this deployer, when its workload runs on one."""
        if not runs_on_kind(spec, self.cluster):
            return None
        reason = kind.unavailable(self.bench.capabilities.privileged)
        if reason:
            raise NotApplicable(reason)
        found = self.kind_clusters.get(spec.name)
        if found is None:
            raise HarnessError(f"no kind cluster was made for {spec.name}", fix="see the session's first lines")
        return found

    def run_scenario(self, spec: DeployerSpec, scenario: Scenario, log: ScenarioLog) -> None:
        """Run one scenario on a deployment of its own; what it found goes into ``log`` (masked). A negative
        verdict raises :class:`~harness.checks.report.StepFailed`; a scenario that cannot apply here raises
        :class:`~harness.errors.NotApplicable` (a first version has nothing to roll back to, say)."""
        log.record(SCENARIO, scenario.name)
        if scenario.workload not in ("any", spec.workload):
            raise NotApplicable(f"the {scenario.name} scenario is for {scenario.workload} deployers")
        secrets = SecretRegistry()
        secrets.add_secrets(spec.secrets)
        log.mask = secrets.mask  # from the start: an error while the machines start is masked too
        started = time.monotonic()
        with self.deployment(spec, secrets) as deployment:
            log.record(MACHINES_READY, f"{time.monotonic() - started:.1f} s")
            try:
                run_steps(deployment, scenario.steps, log)
            finally:
                if self.keep:
                    for hint in deployment.workload.shell_hints():
                        log.record(SHELL, hint)
