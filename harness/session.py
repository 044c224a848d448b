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

from harness import progress
from harness.checks.report import DEPLOYER, MACHINES_READY, SCENARIO, SHELL, ScenarioLog
from harness.checks.steps import StepRun, offline, run_offline, run_steps
from harness.cluster import kind
from harness.deployer.spec import DeployerSpec
from harness.deployment import Deployment
from harness.drift.options import CRASH_POINTS_SKIPPED, SKIPPED, DriftOptions
from harness.engine.client import connect
from harness.engine.labels import Ownership
from harness.engine.locks import build_lock
from harness.engine.probe import Capabilities
from harness.engine.sweep import mark_kept, sweep
from harness.errors import EngineUnavailable, HarnessError, NotApplicable
from harness.faults.spec import NO_WORLD, ONE, OUTAGE
from harness.gitops.update import plan
from harness.images.given import GivenImage
from harness.scenario.model import Scenario
from harness.scenario.schedule import RunOver, Schedule
from harness.secrets import SecretRegistry
from harness.testbed import MIRROR_KIND
from harness.threads import Turns
from harness.workbench import Workbench
from harness.workdirs import sweep_workdirs
from harness.workloads import runs_on_kind

CLUSTERS = ("sim", "kind")

Progress = Callable[[str], None]


@dataclass
class RunSession:
    keep: bool = False
    keep_on_failure: bool = False  # the machines of failed scenarios only (--keep=on-failure)
    cluster: str = "sim"  # where DaemonSets run: sim or kind
    drift: DriftOptions = field(default_factory=DriftOptions)
    ownership: Ownership = field(default_factory=Ownership)
    capabilities: Capabilities | None = None  # probed once, by the controller
    build_errors: dict[str, str] = field(default_factory=dict)  # deployer -> why its images did not build
    kind_clusters: dict[str, kind.KindCluster] = field(default_factory=dict)  # by deployer
    images: dict[str, GivenImage] = field(default_factory=dict)  # by deployer: tested instead of a build
    progress: Progress = lambda line: None
    _bench: Workbench | None = None
    schedule: Schedule = field(init=False, repr=False, compare=False)  # which run serves an item; the run's end
    _booting: Turns = field(init=False)  # turns to start machines: one per engine CPU at a time

    def __post_init__(self) -> None:
        self._booting = Turns(lambda: self.bench.engine_cpus)
        self.schedule = Schedule(
            self._run, self._applies, lambda: self.bench.engine_cpus, lambda spec: not runs_on_kind(spec, self.cluster)
        )
        if self.cluster not in CLUSTERS:
            raise HarnessError(f"the cluster backend is {self.cluster!r}", fix=f"use one of {', '.join(CLUSTERS)}")
        if (self.keep, self.keep_on_failure) != (self.ownership.keep, self.ownership.keep_on_failure):
            # kept machines carry a label the sweep spares (on failure: where their scope is marked kept)
            self.ownership = dataclasses.replace(self.ownership, keep=self.keep, keep_on_failure=self.keep_on_failure)

    @property
    def bench(self) -> Workbench:
        if self._bench is None:
            self._bench = Workbench(
                progress=self.progress, ownership=self.ownership, keep=self.keep, images=self.images
            )
            if self.capabilities is not None:
                self._bench.capabilities = self.capabilities
        return self._bench

    # ------------------------------------------------------------------ the controller

    def prepare(self, specs: list[DeployerSpec]) -> None:
        """Sweep dead runs, build every image once, probe the engine, make kind clusters for DaemonSets."""
        client = connect()
        swept = sweep(client)
        if swept:
            self.progress(str(swept))
        folders = sweep_workdirs(client)
        if folders:
            self.progress(f"removed {len(folders)} work folder(s) (SSH keys with them) of runs that are gone")
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
        """Whatever this run made and did not remove (an interrupt, a crash in a worker) goes now: scenarios
        still running in the background stop at their next step first (or are left to the sweep)."""
        self.schedule.stop()
        if not self.keep:
            for cluster in self.kind_clusters.values():  # kind's containers carry kind's labels, not ours
                with contextlib.suppress(HarnessError):
                    cluster.delete()
            with contextlib.suppress(EngineUnavailable):
                sweep(connect(), run_id=self.ownership.run_id)
                sweep_workdirs(connect())  # the xdist workers' folders, when they were stopped by force
        self.close()

    def close(self) -> None:
        self.schedule.stop()
        if self._bench is not None:
            self._bench.close()

    def describe(self) -> str:
        engine = self.capabilities.describe() if self.capabilities is not None else "engine not probed"
        return f"{engine}; cluster {self.cluster}; run {self.ownership.run_id}"

    # ------------------------------------------------------------------ handed to workers

    def to_data(self) -> dict[str, Any]:
        return session_data(self)

    @classmethod
    def from_data(cls, data: dict[str, Any], progress: Progress = lambda line: None) -> RunSession:
        return session_from_data(data, progress)

    # ------------------------------------------------------------------ scenarios

    @contextlib.contextmanager
    def deployment(self, spec: DeployerSpec, secrets: SecretRegistry | None = None) -> Iterator[Deployment]:
        """The deployer on its own machines (or its kind cluster), closed afterwards."""
        if spec.name in self.build_errors:
            raise HarnessError(self.build_errors[spec.name])
        on_kind = self._kind_cluster(spec)
        # The scenarios of one deployer share its kind cluster: one at a time, also across xdist workers.
        shared = build_lock(f"kind-{on_kind.name}") if on_kind is not None else contextlib.nullcontext()
        with shared:
            with self._boot_turn():
                deployment = Deployment(
                    self.bench, spec, keep=self.keep, kind=on_kind, secrets=secrets, drift=self.drift
                )
            with deployment:
                yield deployment

    @contextlib.contextmanager
    def _boot_turn(self) -> Iterator[None]:
        """Machines start for one deployment per engine CPU at a time, in this process (an xdist worker counts its
        own; drift's and crash points' clones are not counted). A start is CPU-bound (the engine makes the
        containers, systemd boots, sshd answers, the harness scans), so scenarios side by side that all started at
        once would each be ready late; this way the first are ready sooner, and the next boots while their pods
        run (seed-nut's gate, 2 CPUs: the first pod 1 s earlier). Turns go in the order asked: the scenarios
        started ahead usually ask before the item pytest waits on."""
        with self._booting.turn():
            self.schedule.go_on()  # a run that finished meanwhile starts nothing more
            yield

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

    def run_scenario(
        self, spec: DeployerSpec, scenario: Scenario, log: ScenarioLog, *,
        within: Scenario | None = None, to_come: tuple[Scenario, ...] = (),
    ) -> None:  # fmt: skip
        """Run one scenario on a deployment of its own; what it found goes into ``log`` (masked). A negative
        verdict raises :class:`~harness.checks.report.StepFailed`; one that cannot apply here raises
        :class:`~harness.errors.NotApplicable`. ``within`` and ``to_come``: see :meth:`Schedule.serve`: a longer
        scenario may run instead, once, and later ones start in the background now."""
        log.record(SCENARIO, scenario.name)
        log.record(DEPLOYER, spec.name)
        applicable(spec, scenario, self.drift)
        self.schedule.serve(spec, scenario, log, within=within, to_come=to_come)

    def _applies(self, spec: DeployerSpec, scenario: Scenario) -> bool:
        try:
            applicable(spec, scenario, self.drift)
        except NotApplicable:
            return False
        return True

    def _run(self, spec: DeployerSpec, scenario: Scenario, log: ScenarioLog, done: list[StepRun] | None = None) -> None:
        secrets = SecretRegistry()
        secrets.add_secrets(spec.secrets)
        log.mask = secrets.mask  # from the start: an error while the machines start is masked too
        if offline(scenario.steps):  # lint: no machines
            return run_offline(spec, scenario.steps, log, done)
        started = time.monotonic()
        self.schedule.go_on()
        with progress.scope(f"{spec.name} / {scenario.name}"), self.deployment(spec, secrets) as deployment:
            log.record(MACHINES_READY, f"{time.monotonic() - started:.1f} s")
            failed = False  # an interrupt, or the run ending, is no failure: their machines go
            try:
                run_steps(deployment, scenario.steps, log, done, self.schedule.go_on, scenario.faults)
            except (NotApplicable, RunOver):
                raise
            except Exception:
                failed = True
                raise
            finally:
                if self.keep_on_failure and failed:
                    deployment.testbed.keep = True
                    mark_kept(self.bench.client, deployment.testbed.ownership)
                    self.bench.kept = True  # their SSH key with them
                if deployment.testbed.keep:
                    for hint in deployment.workload.shell_hints():
                        log.record(SHELL, hint)


def applicable(spec: DeployerSpec, scenario: Scenario, drift: DriftOptions) -> None:
    """Raise :class:`NotApplicable` when the scenario does not concern this deployer, or this run."""
    if scenario.workload not in ("any", spec.workload):
        raise NotApplicable(f"the {scenario.name} scenario is for {scenario.workload} deployers")
    if "drift" in scenario.steps and drift.tier == "skip":
        raise NotApplicable(SKIPPED)
    if "crash-points" in scenario.steps and not drift.crash_points:
        raise NotApplicable(CRASH_POINTS_SKIPPED)
    if any(f.kind == OUTAGE for f in scenario.faults) and spec.world is None:
        raise NotApplicable(NO_WORLD)
    if any(f.machine == ONE for f in scenario.faults) and len(spec.machines) < 2:
        raise NotApplicable(f"one host down among several: {spec.name} configures {len(spec.machines)} machine")
    if {"gitops-before", "gitops-push"} & set(scenario.steps):
        plan(spec)  # no Flux objects, no history, no policy over the Job's image: skipped before machines start


def session_data(session: RunSession) -> dict[str, Any]:
    """What an xdist worker gets: plain values that make the same session again."""
    return {
        "run_id": session.ownership.run_id,
        "keep": session.keep,
        "keep_on_failure": session.keep_on_failure,
        "cluster": session.cluster,
        "drift": dataclasses.asdict(session.drift),
        "capabilities": dataclasses.asdict(session.capabilities) if session.capabilities else None,
        "build_errors": dict(session.build_errors),
        "kind_clusters": {name: c.as_data() for name, c in session.kind_clusters.items()},
        "images": {name: dataclasses.asdict(image) for name, image in session.images.items()},
    }


def session_from_data(data: dict[str, Any], progress: Progress) -> RunSession:
    caps = data.get("capabilities")
    return RunSession(
        keep=bool(data["keep"]),
        keep_on_failure=bool(data.get("keep_on_failure", False)),
        cluster=str(data["cluster"]),
        drift=DriftOptions(**data.get("drift", {})),
        ownership=Ownership(run_id=data["run_id"]),
        capabilities=Capabilities(**caps) if caps else None,
        build_errors=dict(data.get("build_errors", {})),
        kind_clusters={n: kind.KindCluster(**c) for n, c in data.get("kind_clusters", {}).items()},
        images={n: GivenImage(**i) for n, i in data.get("images", {}).items()},
        progress=progress,
    )
