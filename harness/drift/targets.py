"""How the drift suite checks and heals each kind of deployer.

- A Job deployer: its drift check is a Job of its own (the CronJob's, or the deployer's Job with the spec's
  command); a new apply heals, and every host is compared afterwards.
- A DaemonSet: its pods loop, so by default the suite waits for the pod on the mutated node to repair it
  (``drift.heal: loop``), and the pod's log must name what it repaired; a spec may instead give a check command,
  run in that pod as ``kubectl exec`` would, or heal by applying again (``drift.heal: apply``, a rollout restart).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from harness.drift.mutations import Mutation, custom_mutations, derive_mutations, excluded
from harness.drift.suite import Check, DriftRun, Healing, news, repeated
from harness.errors import HarnessError
from harness.state.command import Watch
from harness.state.model import Snapshot

if TYPE_CHECKING:
    from harness.deployment import Deployment

POLL_SECONDS = 0.5
LOG_SETTLE_SECONDS = 2.0  # the journal may show a pod's last line a moment after the file it wrote


def plan(deployment: Deployment, converged: dict[str, Snapshot]) -> tuple[dict[str, Snapshot], list[Mutation]]:
    """The machines to mutate (a DaemonSet's: only the nodes it runs on, which alone are saved and put back) and
    the mutations: derived from the converged snapshot, the spec's own added, its exclusions left out."""
    spec = deployment.spec
    info = deployment.cluster_info()
    if info is not None:
        converged = {name: s for name, s in converged.items() if info["nodes"][name]["scheduled"]}
        for custom in spec.drift.mutations:
            if custom.machine is not None and custom.machine not in converged:
                raise HarnessError(
                    f"`drift.mutations` {custom.name!r} names {custom.machine}, which the DaemonSet does not run on",
                    where=spec.path,
                    fix=f"name one of: {', '.join(converged)}, or leave `machine` out",
                )
    mutations = [m for snapshot in converged.values() for m in derive_mutations(snapshot)]
    mutations += custom_mutations(spec.drift.mutations, converged)
    if info is not None:
        mutations = spread(mutations)
    mutations = [m for m in mutations if not excluded(m, spec.drift.exclude)]
    if not mutations:
        raise HarnessError(
            "`drift` found nothing to mutate: the converged snapshot holds no managed file, unit or crontab",
            where=spec.path,
            fix="derive the watch (`state.derive`), name paths in `state.paths`, or add `drift.mutations`",
        )
    return converged, mutations


def drift_run(deployment: Deployment, converged: dict[str, Snapshot], watches: dict[str, Watch]) -> DriftRun:
    state, spec = deployment.state, deployment.spec

    def differences(machines: list[str]) -> list[str]:
        now = state.take({name: watches[name] for name in machines})
        return [c.line() for c in state.diff({name: converged[name] for name in machines}, now).state_changes]

    def compare(machine: str) -> list[str]:
        return differences([machine])

    def mask(text: str) -> str:  # read late: the mask grows as manifests are read
        return state.mask(text)

    def heal_by_applying(mutation: Mutation) -> Healing:
        applied = deployment.apply()
        if not applied.succeeded:
            return Healing([f"the apply failed ({applied.summary()})"])
        return Healing(differences(list(converged)))

    if deployment.manifest.daemonset is None:
        check = None
        if spec.drift.has_check:

            def check(machine: str) -> Check:
                result = deployment.check_drift()
                return Check(result.succeeded, result.logs)

        return DriftRun(state.runners, check, heal_by_applying, compare, mask=mask, apply_touches_all=True)
    return _daemonset_run(deployment, compare, heal_by_applying, mask)


def _daemonset_run(
    deployment: Deployment,
    compare: Callable[[str], list[str]],
    heal_by_applying: Callable[[Mutation], Healing],
    mask: Callable[[str], str],
) -> DriftRun:
    drift = deployment.spec.drift
    seen: dict[str, int] = {}  # node -> length of its pod's log before the mutation
    usual: dict[str, str] = {}  # node -> what its pod logged more than once before the first mutation

    def before(mutation: Mutation) -> None:
        log = deployment.pod_logs(mutation.machine)
        usual.setdefault(mutation.machine, repeated(log))
        seen[mutation.machine] = len(log)

    def new_log(mutation: Mutation) -> str:
        """What the pod logged since the mutation, less the lines it logs on every pass (`ok /etc/x`)."""
        log = deployment.pod_logs(mutation.machine)[seen.get(mutation.machine, 0) :]
        return news(log, usual.get(mutation.machine, ""))

    def heal_by_loop(mutation: Mutation) -> Healing:
        started = time.monotonic()
        while True:
            remaining = compare(mutation.machine)
            waited = time.monotonic() - started
            if not remaining:
                break
            if waited > drift.heal_seconds:
                return Healing(
                    [f"not repaired within {drift.heal_seconds:g} s: {'; '.join(remaining)}"], new_log(mutation)
                )
            time.sleep(POLL_SECONDS)
        report = new_log(mutation)
        settle = time.monotonic() + LOG_SETTLE_SECONDS
        while not mutation.named_in(report) and time.monotonic() < settle:
            time.sleep(POLL_SECONDS / 2)
            report = new_log(mutation)
        return Healing([], report, waited)

    check = None
    if drift.command is not None:
        command = drift.command

        def check(machine: str) -> Check:
            code, output = deployment.pod_exec(machine, command)
            return Check(code == 0, output)

    heal = heal_by_applying if drift.heal == "apply" else heal_by_loop
    return DriftRun(
        deployment.state.runners,
        check,
        heal,
        compare,
        check_per_machine=True,
        reports_healing=check is None and heal is heal_by_loop,
        before=before,
        mask=mask,
        verify_mutations=False,  # the pods loop either way: they may repair it before the harness looks
        apply_touches_all=heal is heal_by_applying,
    )


def spread(mutations: list[Mutation]) -> list[Mutation]:
    """The same DaemonSet configures every node it targets alike: each distinct mutation is made once, on one of
    the nodes that have it, taking the nodes in turn, so every node is mutated and none twice the same way."""
    nodes: dict[str, list[Mutation]] = {}
    for mutation in mutations:
        nodes.setdefault(mutation.id, []).append(mutation)
    return [found[index % len(found)] for index, found in enumerate(nodes.values())]
