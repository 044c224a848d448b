"""Which run serves a scenario's item: one started ahead in the background on machines of its own, the run of a
longer scenario whose steps begin with this one's, or a run of its own; and the run's end: once it is finishing,
every scenario (in the background, and the item in the foreground) stops between two steps."""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import docker.errors

from harness.checks.report import DEPLOYER, SCENARIO, ScenarioLog
from harness.checks.steps import StepRun, offline
from harness.deployer.spec import DeployerSpec
from harness.errors import HarnessError
from harness.scenario.model import Scenario
from harness.scenario.shared import SharedRun, held_by, prefix_of
from harness.threads import DaemonCall

BACKGROUND_STOP_SECONDS = 30.0  # what a finishing run waits for a scenario in the background to reach a step's end

Run = Callable[[DeployerSpec, Scenario, ScenarioLog, list[StepRun] | None], None]
Key = tuple[Path, str]  # a deployer's folder, a scenario's name


class RunOver(HarnessError):
    """A scenario stopped between two steps because the run is finishing: no verdict of its own."""


class Schedule:
    """``run`` runs a scenario on machines of its own; ``applies`` says whether a scenario concerns a deployer
    in this run; ``cpus`` is the engine's CPU count; ``side_by_side`` whether a deployer's scenarios may run at
    once (not on a kind cluster, where they take turns)."""

    def __init__(
        self,
        run: Run,
        applies: Callable[[DeployerSpec, Scenario], bool],
        cpus: Callable[[], int],
        side_by_side: Callable[[DeployerSpec], bool],
    ) -> None:
        self._run, self._applies, self._cpus, self._side_by_side = run, applies, cpus, side_by_side
        self._shared: dict[Key, SharedRun] = {}  # ran for a shorter scenario
        self._ahead: dict[Key, DaemonCall[SharedRun]] = {}  # running before its item
        self._finishing = threading.Event()

    def serve(
        self, spec: DeployerSpec, scenario: Scenario, log: ScenarioLog, *,
        within: Scenario | None = None, to_come: Sequence[Scenario] = (),
    ) -> None:  # fmt: skip
        """The scenario's result in ``log``, from whichever run serves it. ``within``: a longer scenario of this
        deployer, still to run in this process, whose steps begin with this one's (as converge's begin
        idempotency's): it runs instead, once, and this scenario's verdict is read from those steps. ``to_come``: later
        scenarios of this deployer in this process; those on machines of their own start in the background now
        (see :meth:`start_ahead`)."""
        if offline(scenario.steps):  # lint: no machine, nor the engine; the machines of later ones start meanwhile
            beside = beside_first(to_come)
            if beside:  # `-m lint` alone: not even a word with the engine
                with contextlib.suppress(HarnessError, docker.errors.DockerException):  # theirs to meet, not lint's
                    self.start_ahead(spec, beside)
            return self._run(spec, scenario, log, None)
        self.start_ahead(spec, [s for s in to_come if s != within and not offline(s.steps)])
        ahead = self._ahead.pop((spec.path, scenario.name), None)
        ran = ahead.result() if ahead is not None else self._shared.pop((spec.path, scenario.name), None)
        if ran is not None:
            ran.replay(log)
            return
        if within is not None and prefix_of(scenario.steps, within.steps) and self._applies(spec, within):
            started = self._ahead.pop((spec.path, within.name), None)  # an earlier item may have started it
            ran = started.result() if started is not None else self.run_shared(spec, within)
            self._shared[(spec.path, within.name)] = ran
            ran.verdict_of(scenario, log)
            return
        self._run(spec, scenario, log, None)

    def start_ahead(self, spec: DeployerSpec, to_come: list[Scenario]) -> None:
        """Start later scenarios now, each on machines of its own, so they run beside this one: one for each of the
        engine's CPUs (a deployer's pods wait on SSH round trips, process starts and restarts as much as they
        compute: on 2 CPUs, seed-nut's gate took 30 s with two beside the item, 44 s with one). Never drift (it
        runs its own lanes side by side), nor on a kind cluster (its scenarios take turns on it)."""
        if not to_come or not self._side_by_side(spec):
            return
        spare = self._cpus() - sum(b.running for b in self._ahead.values())
        for number, scenario in enumerate(to_come):
            key = (spec.path, scenario.name)
            lanes = "drift" in scenario.steps or "crash-points" in scenario.steps  # they run their own lanes
            if spare <= 0 or lanes or key in self._ahead or key in self._shared:
                continue
            if held_by(scenario, to_come[number + 1 :]) is not None:  # converge: idempotency's run will hold it
                continue
            if not self._applies(spec, scenario):
                continue
            # A daemon thread: an interrupted run does not wait for it; the run's sweep removes its machines.
            self._ahead[key] = DaemonCall(
                functools.partial(self.run_shared, spec, scenario), f"{spec.name}-{scenario.name}"
            )
            spare -= 1

    def run_shared(self, spec: DeployerSpec, scenario: Scenario) -> SharedRun:
        log, done = ScenarioLog(), list[StepRun]()
        log.record(SCENARIO, scenario.name)
        log.record(DEPLOYER, spec.name)
        try:
            self._run(spec, scenario, log, done)
        except Exception as exc:  # any error: its item raises it after its log's mask is set (SharedRun.replay)
            return SharedRun(scenario, log, done, exc)
        return SharedRun(scenario, log, done)

    def go_on(self) -> None:
        """Between steps, and before machines start: a run that is finishing (interrupted, or stopped at its
        first failure) stops every scenario still running, in the background or not."""
        if self._finishing.is_set():
            raise RunOver("the run is over: this scenario was stopped between two steps")

    def stop(self, wait: float = BACKGROUND_STOP_SECONDS) -> None:
        """The run is finishing: what runs in the background stops at its next step, waited for ``wait`` seconds
        in all (a scenario stuck in a step is left to the run's sweep)."""
        if self._finishing.is_set():  # asked once: a stuck scenario does not hold the run up twice
            return
        self._finishing.set()
        deadline = time.monotonic() + wait
        for background in self._ahead.values():
            background.join(max(0.0, deadline - time.monotonic()))


def beside_first(to_come: Sequence[Scenario]) -> list[Scenario]:
    """What may start ahead while an offline item runs: the later scenarios on machines, but for the first one, and
    the longer one it runs within, which its own item runs in this process next (a scenario another later one
    holds is left out by :meth:`Schedule.start_ahead` itself)."""
    on_machines = [s for s in to_come if not offline(s.steps)]
    if not on_machines:
        return []
    first, rest = on_machines[0], on_machines[1:]
    return [s for s in rest if s != held_by(first, rest)]
