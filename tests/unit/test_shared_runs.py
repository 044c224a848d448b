"""One run for two scenarios (converge begins idempotency): which scenario begins another, and its verdict read
from the longer one's first steps."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.checks.report import MACHINES_READY, SHARED, ScenarioLog, StepFailed, StepReport
from harness.checks.steps import StepRun
from harness.drift.options import DriftOptions
from harness.errors import HarnessError
from harness.scenario.model import Scenario, scenarios_for
from harness.scenario.shared import SharedRun, prefix_of
from harness.session import RunSession
from harness.threads import DaemonCall

CONVERGE = Scenario("converge", "", ("apply", "verify"), Path("converge.yaml"))
IDEMPOTENCY = Scenario(
    "idempotency", "", ("apply", "verify", "snapshot", "apply", "snapshot", "expect-no-diff"), Path("i.yaml")
)


@pytest.mark.parametrize(
    ("short", "long", "expected"),
    [
        (("apply", "verify"), IDEMPOTENCY.steps, True),
        (("apply", "verify"), ("apply", "verify"), False),  # not longer: the same scenario
        (("apply", "verify"), ("apply", "snapshot", "apply", "verify"), False),  # its verify would follow two applies
        (("apply", "verify"), ("apply-previous", "scan", "apply", "verify"), False),  # an upgrade, not a converge
    ],
)
def test_a_scenario_shares_a_run_only_with_one_it_begins(
    short: tuple[str, ...], long: tuple[str, ...], expected: bool
) -> None:
    assert prefix_of(short, long) is expected


def test_the_shipped_converge_begins_the_shipped_idempotency() -> None:
    shipped = {s.name: s for s in scenarios_for()}
    assert prefix_of(shipped["converge"].steps, shipped["idempotency"].steps)


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
    ran(None, None, None, None, None, "apply 2 changed /etc/x").verdict_of(CONVERGE, log)  # passes
    assert log.properties == [
        (MACHINES_READY, "1.0 s"),
        (SHARED, "its steps ran as the first of the idempotency scenario's"),
        ("apply", "apply ran"),
        ("verify", "verify ran"),
        ("timing", "apply 0.5 s, verify 0.5 s"),
        ("steps_data", '[{"step":"apply","start":0.0,"seconds":0.5,"failed":false,"at":0.0},'
                       '{"step":"verify","start":0.0,"seconds":0.5,"failed":false,"at":0.0}]'),
    ]  # fmt: skip


def test_a_failing_step_of_its_own_fails_the_shorter_scenario_masked() -> None:
    with pytest.raises(StepFailed, match=r"^3 tests failed: token \*\*\*$"):
        ran(None, "3 tests failed: token s3cret").verdict_of(CONVERGE, ScenarioLog())


def test_an_error_that_stopped_the_run_among_its_steps_is_the_shorter_scenarios_too() -> None:
    run = ran(None)  # the first apply ran; the verify raised
    run.error = HarnessError("web1: SSH to 192.0.2.7 failed")
    with pytest.raises(HarnessError, match=r"SSH to 192\.0\.2\.7 failed"):
        run.verdict_of(CONVERGE, ScenarioLog())


def test_the_longer_scenario_replays_its_log_and_its_error() -> None:
    run = ran(None, None, None, None, None, "apply 2 changed /etc/x")
    run.error = StepFailed("apply 2 changed /etc/x")
    log = ScenarioLog()
    with pytest.raises(StepFailed):
        run.replay(log)
    assert log.properties == run.log.properties
    assert log.mask("s3cret") == "***"


# --- the session: which runs happen, for which items ---


class Recorder:
    """Stands in for RunSession._run: records which scenarios ran, and passes every step."""

    def __init__(self, fail: str | None = None) -> None:
        self.ran: list[str] = []
        self.fail = fail

    def __call__(self, spec: object, scenario: Scenario, log: ScenarioLog, done: list[StepRun] | None = None) -> None:
        self.ran.append(scenario.name)
        for step in scenario.steps:
            report = StepReport(failure="broken" if step == self.fail else None)
            report.add(step, "ran")
            log.add(report)
            if done is not None:
                done.append(StepRun(step, report, 0.1))
            if report.failure:
                raise StepFailed("broken")


def session_with(recorder: Recorder, tier: str = "skip") -> RunSession:
    """A session whose scenarios run on the recorder instead of machines; the rest of its schedule as it is."""
    session = RunSession(drift=DriftOptions(tier, 1))
    session.schedule._run = recorder
    return session


SPEC = SimpleNamespace(path=Path("deployers/x/harness.yaml"), name="x", workload="job")


def test_converge_and_idempotency_run_once_for_both_items() -> None:
    recorder = Recorder()
    session = session_with(recorder)
    converge_log, idempotency_log = ScenarioLog(), ScenarioLog()
    session.run_scenario(SPEC, CONVERGE, converge_log, within=IDEMPOTENCY)  # type: ignore[arg-type]
    session.run_scenario(SPEC, IDEMPOTENCY, idempotency_log)  # type: ignore[arg-type]
    assert recorder.ran == ["idempotency"]
    assert [name for name, _ in converge_log.properties if name in IDEMPOTENCY.steps] == ["apply", "verify"]
    assert [name for name, _ in idempotency_log.properties if name in IDEMPOTENCY.steps] == list(IDEMPOTENCY.steps)


def test_a_failure_in_the_shared_steps_fails_both_items_and_runs_nothing_twice() -> None:
    recorder = Recorder(fail="verify")
    session = session_with(recorder)
    with pytest.raises(StepFailed):
        session.run_scenario(SPEC, CONVERGE, ScenarioLog(), within=IDEMPOTENCY)  # type: ignore[arg-type]
    with pytest.raises(StepFailed):
        session.run_scenario(SPEC, IDEMPOTENCY, ScenarioLog())  # type: ignore[arg-type]
    assert recorder.ran == ["idempotency"]


def test_a_longer_scenario_the_gate_skips_is_never_run_for_a_shorter_one() -> None:
    recorder = Recorder()
    drifting = Scenario("mine", "", ("apply", "verify", "snapshot", "drift"), Path("mine.yaml"))
    session_with(recorder, tier="skip").run_scenario(SPEC, CONVERGE, ScenarioLog(), within=drifting)  # type: ignore[arg-type]
    assert recorder.ran == ["converge"]


def test_a_scenario_started_in_the_background_is_taken_by_its_item_with_its_error() -> None:
    recorder = Recorder(fail="scan")
    rollback = Scenario("rollback", "", ("apply-previous", "scan", "apply"), Path("rollback.yaml"))
    session = session_with(recorder)
    session.bench.engine_cpus = 1  # one beside the item, whatever this machine has
    session.run_scenario(SPEC, CONVERGE, ScenarioLog(), to_come=(rollback,))  # type: ignore[arg-type]
    log = ScenarioLog()
    with pytest.raises(StepFailed):
        session.run_scenario(SPEC, rollback, log)  # type: ignore[arg-type]
    assert sorted(recorder.ran) == ["converge", "rollback"]
    assert [name for name, _ in log.properties if name not in ("scenario", "deployer")] == ["apply-previous", "scan"]
    session.close()


def test_a_background_error_is_raised_where_its_result_is_taken() -> None:
    def boom() -> SharedRun:
        raise RuntimeError("the engine went away")

    background = DaemonCall(boom, "boom")
    background.join(5)
    assert not background.running
    with pytest.raises(RuntimeError, match="the engine went away"):
        background.result()


def test_machines_start_one_deployment_per_engine_cpu_at_a_time_and_not_once_the_run_is_over() -> None:
    import threading
    import time

    from harness.scenario.schedule import RunOver

    session = RunSession()
    session.bench.engine_cpus = 2  # what the engine would report
    inside, most, lock, done = 0, 0, threading.Lock(), threading.Event()

    def boot() -> None:
        nonlocal inside, most
        with session._boot_turn():
            with lock:
                inside += 1
                most = max(most, inside)
            done.wait(30)  # starting, while the others wait for a turn
            with lock:
                inside -= 1

    threads = [threading.Thread(target=boot) for _ in range(5)]
    for thread in threads:
        thread.start()
    try:
        waited = time.monotonic() + 30
        while inside < 2 and time.monotonic() < waited:
            time.sleep(0.05)
        time.sleep(0.3)  # time for a third to get in, were it let in
        assert inside == 2
    finally:
        done.set()
        for thread in threads:
            thread.join()
    assert most == 2

    session.schedule.stop(wait=0)
    try:
        with pytest.raises(RunOver), session._boot_turn():
            pass
    finally:
        session.close()


def test_while_lint_runs_the_scenarios_beside_the_next_item_may_start_but_not_that_item_nor_its_longer_run() -> None:
    from harness.scenario.schedule import beside_first

    shipped = {s.name: s for s in scenarios_for()}
    lint, converge, idempotency, rollback = (shipped[n] for n in ("lint", "converge", "idempotency", "rollback"))
    assert [s.name for s in beside_first((converge, idempotency, rollback))] == ["rollback"]
    # converge among them: its item takes idempotency's run (Schedule.start_ahead does not start it alone)
    assert [s.name for s in beside_first((rollback, converge, idempotency))] == ["converge", "idempotency"]
    assert beside_first((lint,)) == [] and beside_first(()) == []


def test_a_scenario_a_later_one_holds_is_not_started_ahead_on_machines_of_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from harness.deployer.spec import load_spec

    repo = Path(__file__).resolve().parents[2]
    spec = load_spec(repo / "deployers" / "pve-nut", ["pve-8", "debian-12", "k8s-node", "world", "mirror"])
    shipped = {s.name: s for s in scenarios_for()}
    session = RunSession()
    session.bench.engine_cpus = 4  # room for every one of them
    started: list[str] = []
    monkeypatch.setattr(session.schedule, "run_shared", lambda spec, scenario: started.append(scenario.name))
    try:
        session.schedule.start_ahead(spec, [shipped[n] for n in ("rollback", "converge", "idempotency")])
        for call in session.schedule._ahead.values():
            call.result()
    finally:
        session.close()
    assert sorted(started) == ["idempotency", "rollback"]  # converge's verdict is read from idempotency's run
