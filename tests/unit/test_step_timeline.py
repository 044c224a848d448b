"""Each scenario's steps as a timeline (the HTML report's bars): start and length, and which failed; a step that
makes the item a skip is no failure."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from harness.checks.report import STEPS_DATA, ScenarioLog, StepFailed, StepReport
from harness.checks.steps import STEPS, run_steps
from harness.errors import HarnessError, NotApplicable

DEPLOYMENT = SimpleNamespace(faults=SimpleNamespace(plan=lambda faults: None), state=SimpleNamespace())


def timeline(log: ScenarioLog) -> list[dict[str, object]]:
    data: list[dict[str, object]] = json.loads(dict(log.properties)[STEPS_DATA])
    return data


def raising(error: Exception):  # type: ignore[no-untyped-def]
    def step(deployment: object) -> StepReport:
        raise error

    return step


@pytest.mark.parametrize(
    ("second", "expected", "failed"),
    [
        (lambda d: StepReport(), None, False),
        (lambda d: StepReport(failure="apply 2 changed /etc/x"), StepFailed, True),
        (raising(HarnessError("the engine went away")), HarnessError, True),
        (raising(NotApplicable("no previous version to roll back to")), NotApplicable, False),
    ],
    ids=["passed", "negative verdict", "error", "skip"],
)
def test_each_step_is_on_the_timeline_with_whether_it_failed(
    monkeypatch: pytest.MonkeyPatch, second: object, expected: type[Exception] | None, failed: bool
) -> None:
    monkeypatch.setitem(STEPS, "apply", lambda d: StepReport())
    monkeypatch.setitem(STEPS, "verify", second)
    log = ScenarioLog()
    if expected is None:
        run_steps(DEPLOYMENT, ("apply", "verify"), log)  # type: ignore[arg-type]
    else:
        with pytest.raises(expected):
            run_steps(DEPLOYMENT, ("apply", "verify"), log)  # type: ignore[arg-type]
    first, last = timeline(log)
    assert (first["step"], first["failed"], last["step"], last["failed"]) == ("apply", False, "verify", failed)
    assert first["start"] == 0.0 and last["start"] >= first["seconds"]  # type: ignore[operator]
    assert dict(log.properties)["timing"].startswith("apply 0.0 s, verify ")
