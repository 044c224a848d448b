"""Which machines the drift suite mutates, and how: derived from the converged snapshot, the spec's own
mutations added, its exclusions left out."""

from __future__ import annotations

import posixpath
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


FILE_KINDS = ("edit", "delete", "chmod", "chown", "replace-symlink")


def quick(found: list[Mutation]) -> list[Mutation]:
    """The quick tier: every unit, cron entry and custom mutation, and one mutation of each kind per managed
    directory of each machine (its first file's, in the matrix's order)."""
    seen: set[tuple[str, str, str]] = set()
    chosen = []
    for mutation in found:
        if mutation.kind in FILE_KINDS:
            key = (mutation.machine, mutation.kind, posixpath.dirname(mutation.item))
            if key in seen:
                continue
            seen.add(key)
        chosen.append(mutation)
    return chosen
