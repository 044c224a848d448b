"""Which machines the drift suite mutates, and how: derived from the converged snapshot, the spec's own
mutations added, its exclusions left out."""

from __future__ import annotations

from collections.abc import Callable

from harness.deployer.spec import DeployerSpec
from harness.drift.mutations import Mutation, custom_mutations, derive_mutations, excluded
from harness.errors import HarnessError
from harness.state.model import Snapshot


def plan(
    spec: DeployerSpec,
    converged: dict[str, Snapshot],
    targeted: list[str],
    arrange: Callable[[list[Mutation]], list[Mutation]],
) -> tuple[dict[str, Snapshot], list[Mutation]]:
    """The machines the workload reaches (only they are saved and put back) and the mutations to make there."""
    converged = {name: s for name, s in converged.items() if name in targeted}
    for custom in spec.drift.mutations:
        if custom.machine is not None and custom.machine not in converged:
            raise HarnessError(
                f"`drift.mutations` {custom.name!r} names {custom.machine}, which the workload does not run on",
                where=spec.path,
                fix=f"name one of: {', '.join(converged)}, or leave `machine` out",
            )
    mutations = [m for snapshot in converged.values() for m in derive_mutations(snapshot)]
    mutations += custom_mutations(spec.drift.mutations, converged)
    mutations = [m for m in arrange(mutations) if not excluded(m, spec.drift.exclude)]
    if not mutations:
        raise HarnessError(
            "`drift` found nothing to mutate: the converged snapshot holds no managed file, unit or crontab",
            where=spec.path,
            fix="derive the watch (`state.derive`), name paths in `state.paths`, or add `drift.mutations`",
        )
    return converged, mutations
