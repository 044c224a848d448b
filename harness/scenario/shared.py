"""Scenario runs shared across items. A scenario whose steps begin a longer one (converge begins idempotency)
takes its verdict from the longer one's run, so a gate that selects both applies and verifies once. A scenario on
machines of its own (rollback) may run in the background while earlier items run; its item takes the result."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from harness.checks import report as r
from harness.checks.report import ScenarioLog, StepFailed
from harness.checks.steps import StepRun, record_timing
from harness.scenario.model import Scenario


def prefix_of(short: tuple[str, ...], long: tuple[str, ...]) -> bool:
    """Whether ``long`` starts with ``short``'s steps and goes on: its run holds ``short``'s, on the same host."""
    return len(long) > len(short) and long[: len(short)] == short


def held_by(scenario: Scenario, later: Sequence[Scenario]) -> Scenario | None:
    """The first of the later scenarios whose run holds this one's (converge's is idempotency's): it runs instead."""
    return next((s for s in later if prefix_of(scenario.steps, s.steps)), None)


@dataclass
class SharedRun:
    """A scenario run on behalf of a shorter one: its log, the steps that ran to their end, how it ended."""

    scenario: Scenario
    log: ScenarioLog
    done: list[StepRun] = field(default_factory=list)
    error: Exception | None = None

    def replay(self, log: ScenarioLog) -> None:
        """Its result, as the longer scenario's own item reports it."""
        log.mask = self.log.mask
        log.properties[:] = self.log.properties
        log.sections[:] = self.log.sections
        if self.error is not None:
            raise self.error

    def verdict_of(self, shorter: Scenario, log: ScenarioLog) -> None:
        """The shorter scenario's verdict, from its steps at the start of this run: what they found, and the
        failure of the first that failed, or the error that stopped the run among them."""
        runs = self.done[: len(shorter.steps)]
        log.mask = self.log.mask
        log.properties += [(name, value) for name, value in self.log.properties if name == r.MACHINES_READY]
        log.record(r.SHARED, f"its steps ran as the first of the {self.scenario.name} scenario's")
        for run in runs:
            log.add(run.report)
        record_timing(log, runs)
        failures = [run.report.failure for run in runs if run.report.failure is not None]
        if failures:
            raise StepFailed(log.mask(failures[0]))
        if len(runs) < len(shorter.steps):  # stopped among them by an error: the shorter one's too
            assert self.error is not None, "a run stops early only with an error"
            raise self.error
