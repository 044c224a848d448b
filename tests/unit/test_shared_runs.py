"""One run for two scenarios (converge inside idempotency): where a scenario's steps are in a longer one, and its
verdict read from the longer one's steps."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.checks.report import MACHINES_READY, SHARED, ScenarioLog, StepFailed, StepReport
from harness.checks.steps import StepRun
from harness.scenario.model import Scenario, scenarios_for
from harness.scenario.shared import SharedRun, positions

CONVERGE = Scenario("converge", "", ("apply", "verify"), Path("converge.yaml"))
IDEMPOTENCY = Scenario(
    "idempotency", "", ("apply", "snapshot", "apply", "snapshot", "verify", "expect-no-diff"), Path("i.yaml")
)


@pytest.mark.parametrize(
    ("short", "long", "expected"),
    [
        (("apply", "verify"), IDEMPOTENCY.steps, [0, 4]),
        (("apply", "verify"), ("apply", "verify"), None),  # not longer: the same scenario
        (("apply", "verify"), ("apply", "snapshot", "drift"), None),
        (("verify", "apply"), ("apply", "verify", "snapshot"), None),  # out of order
        (("apply", "apply"), ("apply", "snapshot", "apply"), [0, 2]),
    ],
)
def test_positions_are_the_steps_in_order_each_as_early_as_it_can_be(
    short: tuple[str, ...], long: tuple[str, ...], expected: list[int] | None
) -> None:
    assert positions(short, long) == expected


def test_the_shipped_converge_runs_inside_the_shipped_idempotency() -> None:
    shipped = {s.name: s for s in scenarios_for()}
    assert positions(shipped["converge"].steps, shipped["idempotency"].steps) is not None


def ran(*failures: str | None) -> SharedRun:
    """An idempotency run whose steps ended with these failures (None: passed), in order."""
    log = ScenarioLog(mask=lambda text: text.replace("s3cret", "***"))
    log.record(MACHINES_READY, "1.0 s")
    done = []
    for step, failure in zip(IDEMPOTENCY.steps, failures, strict=False):
        report = StepReport(failure=failure)
        report.add(step, f"{step} ran")
        log.add(report)
        done.append(StepRun(step, report, 0.5))
    return SharedRun(IDEMPOTENCY, log, done)


def test_the_shorter_scenario_reports_only_its_own_steps_of_the_run() -> None:
    log = ScenarioLog()
    assert ran(None, None, None, None, None, "apply 2 changed /etc/x").verdict_of(CONVERGE, log)
    assert log.properties == [
        (MACHINES_READY, "1.0 s"),
        (SHARED, "its steps ran in the idempotency scenario's deployment"),
        ("apply", "apply ran"),
        ("verify", "verify ran"),
        ("timing", "apply 0.5 s, verify 0.5 s"),
    ]


def test_a_failing_step_of_its_own_fails_the_shorter_scenario_masked() -> None:
    with pytest.raises(StepFailed, match=r"^3 tests failed: token \*\*\*$"):
        ran(None, None, None, None, "3 tests failed: token s3cret").verdict_of(CONVERGE, ScenarioLog())


def test_a_run_that_stopped_before_one_of_its_steps_gives_no_verdict() -> None:
    assert not ran(None, None, "apply 2 failed").verdict_of(CONVERGE, ScenarioLog())


def test_the_longer_scenario_replays_its_log_and_its_error() -> None:
    run = ran(None, None, None, None, None, "apply 2 changed /etc/x")
    run.error = StepFailed("apply 2 changed /etc/x")
    log = ScenarioLog()
    with pytest.raises(StepFailed):
        run.replay(log)
    assert log.properties == run.log.properties
    assert log.mask("s3cret") == "***"
