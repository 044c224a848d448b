"""One deployer against its machines: a testbed, the workload its manifest makes, snapshots of the machines, and
the secrets every report masks. Made started (its machines ready) and closed as one."""

from __future__ import annotations

import functools
import shlex
import time
from dataclasses import dataclass, field
from types import TracebackType

import docker.errors

from harness.cluster.kind import KindCluster
from harness.deployer.spec import DeployerSpec
from harness.drift.options import DriftOptions
from harness.faults.plan import Faults, Settled
from harness.hosts.journal import RemoteCommand, close_journal, open_journal
from harness.hosts.machine import Machine
from harness.k8s.manifest import Manifest, load_manifest
from harness.rollback.version import previous_version
from harness.secrets import SecretRegistry
from harness.state.tracker import ScriptRunner, StateTracker
from harness.testbed import Testbed
from harness.workbench import Workbench
from harness.workloads import ApplyResult, Version, make_workload
from harness.world.service import WorldEvent


@dataclass(frozen=True)
class Applied:
    """One apply, in order: the version, what it did, and the version stamp each machine held afterwards."""

    version: Version
    result: ApplyResult
    stamps: dict[str, str | None]
    ssh_logins: int | None = None  # SSH connections the Job's pods opened to the machines (None: a DaemonSet)
    journal: dict[str, list[RemoteCommand]] = field(default_factory=dict)  # by machine: the commands they ran
    fault: Settled | None = None  # what a fault armed for this apply did
    world: list[WorldEvent] | None = None  # what it asked of the world (None: the spec has no world)


class Deployment:
    def __init__(
        self,
        bench: Workbench,
        spec: DeployerSpec,
        *,
        keep: bool = False,
        kind: KindCluster | None = None,
        secrets: SecretRegistry | None = None,  # given: the caller's reports mask what it learns from the start
        drift: DriftOptions | None = None,
    ) -> None:
        self.bench, self.spec = bench, spec
        self.drift = drift or DriftOptions()
        self.secrets = secrets if secrets is not None else SecretRegistry()
        self.secrets.add_secrets(spec.secrets)
        self.manifest: Manifest = self.secrets.read(load_manifest(spec.manifest))
        self.testbed = Testbed(bench, spec.name, keep=keep)
        self.workload = make_workload(spec, self.manifest, self.testbed, self.secrets, kind)
        self.history: list[Applied] = []
        self._image_ids: dict[str, str] = {}
        self.faults = Faults(self.testbed)
        try:
            self.workload.start()
            originals = self.testbed.image_files()  # the Job's machines, a simulated cluster's nodes (not kind's)
            runners = {name: self._runner(name, run) for name, run in self.workload.runners().items()}
            self.state = StateTracker(runners, spec.state, self.secrets.mask, originals=originals)
        except BaseException:
            self.close()
            raise

    def image_id(self, image: str) -> str:
        """The engine's ID of an image applied (what was tested, whatever its tag), asked once per image."""
        if image not in self._image_ids:
            try:
                self._image_ids[image] = str(self.bench.client.images.get(image).id)
            except docker.errors.ImageNotFound:  # removed since (a prune meanwhile): the name is what is known
                return f"{image} (removed from the engine since)"
        return self._image_ids[image]

    def _runner(self, name: str, run: ScriptRunner) -> ScriptRunner:
        """A machine's shell for snapshots and mutations: over SSH, or through the engine while a fault keeps the
        harness's connection from it (a partition): what an apply left is seen whatever the network does."""
        machine = self.testbed.machines.get(name)
        if machine is None:  # a kind cluster's node: not the testbed's
            return run

        def run_script(script: str) -> tuple[int, bytes, bytes]:
            if self.faults.reachable(name) or not self.faults.engine_reaches(name):
                return run(script)
            return machine.exec_script(script)

        return run_script

    def __enter__(self) -> Deployment:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    @functools.cached_property
    def current(self) -> Version:
        return Version("current", self.bench.deployer_image(self.spec), self.manifest)

    @functools.cached_property
    def previous(self) -> tuple[Version, str]:
        """The version before this one (built once per deployment; the image is cached by content), described."""
        found = previous_version(self.bench, self.spec)
        manifest = self.manifest
        if found.manifest is not None:
            self.secrets.read(found.manifest)  # masked from now on, whatever it holds
            if found.manifest.has_workload:
                manifest = found.manifest
        return Version("previous", found.image, manifest), found.description

    def apply(self, version: Version | None = None) -> ApplyResult:
        """Run the Job once, or roll the DaemonSet out, as Kubernetes would (by default the current version).
        Applying an unchanged DaemonSet restarts its pods, as ``kubectl rollout restart`` does."""
        version = version or self.current
        started = time.time()  # the machines' clock is this computer's: they share its kernel
        world = self.testbed.world
        seen = len(world.events()) if world is not None else 0
        journaled = self._open_journals()
        self.faults.watch()
        try:
            result = self.workload.apply(version)
        finally:
            journal = self._close_journals(journaled)
            fault = self.faults.settle()
        stamps, logins = self._read_stamps(), self._ssh_logins(started)
        asked = world.events()[seen:] if world is not None else None
        self.history.append(Applied(version, result, stamps, logins, journal, fault, asked))
        return result

    def _open_journals(self) -> dict[str, Machine]:
        """A Job's machines record the commands its SSH sessions run (a DaemonSet's pods run theirs in place)."""
        if self.spec.workload != "job":
            return {}
        machines = {name: m for name, m in self.testbed.machines.items() if self.faults.reachable(name)}
        for name, machine in machines.items():
            open_journal(machine.run_script, hold_after=self.faults.hold_after(name))
        return machines

    def _close_journals(self, machines: dict[str, Machine]) -> dict[str, list[RemoteCommand]]:
        """Over the harness's connection; through the engine where a fault struck mid-apply took it away (a paused
        or stopped machine's journal is not read)."""
        journal = {}
        for name, machine in machines.items():
            if self.faults.reachable(name):
                journal[name] = close_journal(machine.run_script, machine.own_client)
            elif self.faults.engine_reaches(name):
                journal[name] = close_journal(machine.exec_script, lambda: None)
        return journal

    def _ssh_logins(self, since: float) -> int | None:
        """Logins sshd accepted on the machines since then (the harness keeps one connection per machine, opened
        before any apply): the deployer's own SSH cost, where it dominates an apply."""
        if self.spec.workload != "job":
            return None
        total = 0
        for name, run in self.state.runners.items():
            if not self.faults.reachable(name):
                continue
            _, out, _ = run(f"journalctl -q --no-pager -o cat -t sshd --since=@{since:.3f} | grep -c '^Accepted '")
            if not out.strip().isdigit():
                return None
            total += int(out)
        return total

    def _read_stamps(self) -> dict[str, str | None]:
        """The spec's version stamp file on each machine (``rollback.stamp``), as text; None where it is missing."""
        path = self.spec.rollback.stamp
        if path is None:
            return {}
        found: dict[str, str | None] = {}
        for machine, run in self.state.runners.items():
            if not self.faults.reachable(machine):
                found[machine] = None
                continue
            code, out, _ = run(f"head -c 4096 -- {shlex.quote(path)}")
            found[machine] = out.decode(errors="replace").strip() if code == 0 else None
        return found

    def close(self) -> None:
        try:
            self.faults.close()
            self.workload.close()
        finally:
            self.testbed.close()  # the deployment made it: it removes it, whatever the workload's closing raised
