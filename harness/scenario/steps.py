"""The steps a scenario is made of. Each takes the running deployment and records what it saw."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.deployment import Deployment


class StepFailed(Exception):
    """A step's verdict is negative; the message is the report."""


@dataclass
class ScenarioLog:
    """What the steps found, for the pytest report, JUnit properties and the terminal summary."""

    properties: list[tuple[str, str]] = field(default_factory=list)
    sections: list[tuple[str, str]] = field(default_factory=list)

    def record(self, name: str, value: object) -> None:
        self.properties.append((name, str(value)))


def apply(deployment: Deployment, log: ScenarioLog) -> None:
    result = deployment.apply()
    number = len(deployment.runs)
    log.record(f"apply{number}", f"{result.reason} after {len(result.attempts)} attempt(s)")
    log.sections.append((f"apply {number}: deployer log", result.describe()))
    if not result.succeeded:
        raise StepFailed(f"apply {number} failed\n{result.describe()}")


def verify(deployment: Deployment, log: ScenarioLog) -> None:
    from harness.verify import verify as run_checks

    workdir = deployment.bench.workdir / f"verify-{deployment.spec.name}-{len(log.properties)}"
    result = run_checks(deployment.spec, deployment.machines, workdir)
    log.record("verify", result.summary())
    if not result.passed:
        raise StepFailed(result.describe())


STEPS: dict[str, Callable[[Deployment, ScenarioLog], None]] = {
    "apply": apply,
    "verify": verify,
}


def run_steps(deployment: Deployment, steps: tuple[str, ...], log: ScenarioLog) -> None:
    """Run the steps in order; record how long each took, also when one fails."""
    timings: list[str] = []
    try:
        for step in steps:
            started = time.monotonic()
            try:
                STEPS[step](deployment, log)
            finally:
                timings.append(f"{step} {time.monotonic() - started:.1f} s")
    finally:
        log.record("timing", ", ".join(timings))
