"""A whole run driven from Python, without pytest's plugin: the library is usable on its own."""

from __future__ import annotations

import re

from harness.checks.report import ScenarioLog, StepFailed
from harness.deployer.spec import DeployerSpec
from harness.engine.client import connect
from harness.engine.labels import RUN
from harness.scenario.model import scenarios_for
from harness.session import RunSession


def _scenario(spec: DeployerSpec, name: str):  # type: ignore[no-untyped-def]
    return next(s for s in scenarios_for(spec.folder) if s.name == name)


def test_a_converge_run_from_python_applies_verifies_and_leaves_nothing(test_spec) -> None:  # type: ignore[no-untyped-def]
    spec = test_spec("hello")
    session = RunSession()
    session.prepare([spec])
    try:
        assert session.capabilities is not None and spec.name not in session.build_errors
        # What an xdist worker gets: plain values that make the same session again.
        worker = RunSession.from_data(session.to_data())
        assert worker.ownership.run_id == session.ownership.run_id and worker.capabilities == session.capabilities
        log = ScenarioLog()
        try:
            worker.run_scenario(spec, _scenario(spec, "converge"), log)
        finally:
            worker.close()  # a worker's own work folder (the run's SSH keys) goes with it
        assert not worker.bench.workdir.exists()
        found = dict(log.properties)
        assert found["scenario"] == "converge"
        assert re.fullmatch(
            r"current: Complete after 1 attempt\(s\), 1 SSH connection by the deployer, its pods ran [\d.]+ s",
            found["apply1"],
        ), found["apply1"]
        assert found["verify"].endswith("passed") and "failed" not in found["verify"]
        assert any(title.startswith("apply 1 (current): deployer log") for title, _ in log.sections)
    finally:
        session.finish()
    assert connect().containers.list(all=True, filters={"label": f"{RUN}={session.ownership.run_id}"}) == []


def test_a_failing_run_from_python_raises_its_verdict_masked(test_spec) -> None:  # type: ignore[no-untyped-def]
    spec = test_spec("failing")
    session = RunSession()
    session.prepare([spec])
    log = ScenarioLog()
    try:
        try:
            session.run_scenario(spec, _scenario(spec, "converge"), log)
        except StepFailed as failed:
            verdict = str(failed)
        else:
            raise AssertionError("a deployer that exits 3 passed")
    finally:
        session.finish()
    assert "apply 1 (current version) failed" in verdict and "BackoffLimitExceeded" in verdict
    assert "with token ********" in verdict and "f41l1ng" not in verdict
    assert "f41l1ng" not in repr(log.properties) + repr(log.sections)
