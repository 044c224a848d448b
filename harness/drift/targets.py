"""Which machines the drift suite mutates, and how: derived from the converged snapshot, the spec's own
mutations added, its exclusions left out."""

from __future__ import annotations

from collections.abc import Callable

from harness.deployer.spec import DeployerSpec
from harness.drift.mutations import Mutation, custom_mutations, derive_mutations, excluded
from harness.errors import HarnessError
from harness.state.model import Snapshot


def targeted(spec: DeployerSpec, converged: dict[str, Snapshot], machines: list[str]) -> dict[str, Snapshot]:
    """The converged snapshots of the machines the workload reaches: only they are mutated, saved and put back."""
    found = {name: s for name, s in converged.items() if name in machines}
    for custom in spec.drift.mutations:
        if custom.machine is not None and custom.machine not in found:
            raise HarnessError(
                f"`drift.mutations` {custom.name!r} names {custom.machine}, which the workload does not run on",
                where=spec.path,
                fix=f"name one of: {', '.join(found)}, or leave `machine` out",
            )
    return found


def mutations(
    spec: DeployerSpec, converged: dict[str, Snapshot], arrange: Callable[[list[Mutation]], list[Mutation]]
) -> list[Mutation]:
    """Every mutation derived from these snapshots and the spec's own, arranged as the strategy makes them."""
    found = [m for snapshot in converged.values() for m in derive_mutations(snapshot)]
    found += custom_mutations(spec.drift.mutations, converged)
    found = [m for m in arrange(found) if not excluded(m, spec.drift.exclude)]
    if not found:
        raise HarnessError(
            "`drift` found nothing to mutate: the converged snapshot holds no managed file, unit or crontab",
            where=spec.path,
            fix="derive the watch (`state.derive`), name paths in `state.paths`, or add `drift.mutations`",
        )
    return found
