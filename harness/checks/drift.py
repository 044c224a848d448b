"""Drift: every mutation derived from the converged host; the drift check must name it, and a new apply (or a
DaemonSet's own loop) must bring the host back to that snapshot."""

from __future__ import annotations

import json

from harness.checks import report as r
from harness.checks.report import StepReport
from harness.deployment import Deployment
from harness.drift.strategies import Converged
from harness.drift.suite import run_drift
from harness.drift.targets import mutations, targeted


def drift(deployment: Deployment) -> StepReport:
    state, workload = deployment.state, deployment.workload
    reached = [name for name, placement in workload.placements().items() if placement.targeted]
    # The converged host is the last snapshot (load_scenario asks for one before this step).
    converged = targeted(deployment.spec, state.snapshots[-1], reached)
    strategy = workload.drift_strategy(Converged(state, converged, state.watches[-1], deployment.current))
    found = run_drift(strategy, converged, mutations(deployment.spec, converged, strategy.arrange))
    report = StepReport()
    report.add(r.DRIFT, found.summary())
    report.add(r.DRIFT_MATRIX, found.table(state.mask))
    report.add(r.DRIFT_DATA, json.dumps(found.to_data(state.mask), separators=(",", ":")))
    if not found.has_check:
        report.section("drift", "no drift check: give the spec `drift.manifest` or `drift.command`")
    elif strategy.detector is not None:
        report.add(r.DRIFT_CHECK, strategy.detector)
    for row in [row for row in found.rows if row.failed and row.check_output][:3]:  # what the check printed
        report.section(f"drift check output after {row.mutation.id}", row.check_output)
    if found.failures:
        report.failure = f"{found.summary()}\n{found.table(state.mask)}"
    return report
