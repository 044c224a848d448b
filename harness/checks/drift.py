"""Drift: every mutation derived from the converged host (or the quick tier's sample of them); the drift check
must name it, and a new apply (or a DaemonSet's own loop) must bring the host back to that snapshot. A Job's
mutations run side by side on clones of the converged machines (``--drift-workers``)."""

from __future__ import annotations

import json
import os

from harness.checks import report as r
from harness.checks.report import StepReport
from harness.deployment import Deployment
from harness.drift.options import SKIPPED
from harness.drift.strategies import Converged
from harness.drift.suite import run_drift
from harness.drift.targets import mutations, quick, targeted
from harness.errors import NotApplicable
from harness.workloads.clones import WorkloadClones

MAX_DEFAULT_LANES = 8  # each lane has a network of its own, and an engine has about 30 to give


def default_lanes(cpus: int) -> int:
    """The engine's CPUs, and the networks it can give, shared among the xdist workers that may run drift
    matrices at once."""
    workers = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 1))
    return max(1, min(MAX_DEFAULT_LANES // workers, cpus // workers))


def drift(deployment: Deployment) -> StepReport:
    state, workload, options = deployment.state, deployment.workload, deployment.drift
    if options.tier == "skip":
        raise NotApplicable(SKIPPED)
    reached = [name for name, placement in workload.placements().items() if placement.targeted]
    # The converged host is the last snapshot (load_scenario asks for one before this step).
    converged = Converged(
        state, targeted(deployment.spec, state.snapshots[-1], reached), state.watches[-1], deployment.current
    )
    strategy = workload.drift_strategy(converged)
    every = mutations(deployment.spec, converged.snapshots, strategy.arrange)
    chosen = every if options.tier == "full" else quick(every)
    clones = WorkloadClones(workload, deployment.testbed, converged) if workload.clonable else None
    lanes = options.lanes or default_lanes(deployment.bench.engine_cpus)
    try:
        found = run_drift(strategy, converged.snapshots, chosen, clones=clones, lanes=lanes)
    finally:
        if clones is not None:
            clones.close()
    report = StepReport()
    report.add(r.DRIFT, found.summary())
    sampled = f"{len(chosen)} of {len(every)} mutations" if len(chosen) < len(every) else f"all {len(every)} mutations"
    ran = f"{found.lanes} lane{'s' if found.lanes != 1 else ''}"
    report.add(r.DRIFT_RUN, f"{options.tier} tier, {sampled}, on {ran}")
    profile = found.profile()
    if profile is not None:
        report.add(r.DRIFT_PROFILE, profile)
    report.add(r.DRIFT_MATRIX, found.table(state.mask))
    report.add(r.DRIFT_DATA, json.dumps(found.to_data(state.mask), separators=(",", ":")))
    for note in found.notes:
        report.add(r.FINDING, f"warn: drift: {state.mask(note)}")
    if not found.has_check:
        report.section("drift", "no drift check: give the spec `drift.manifest` or `drift.command`")
    elif strategy.detector is not None:
        report.add(r.DRIFT_CHECK, strategy.detector)
    evidence = found.evidence_text(state.mask)
    if evidence is not None:  # each failing row's own: the check's output, the healing apply's result
        report.section("drift: the evidence of each failing row", evidence)
    if found.failures:
        report.failure = f"{found.summary()}\n{found.table(state.mask)}"
    return report
