"""Which machines the drift suite mutates, and how: derived from the converged snapshot, the spec's own
mutations added, its exclusions left out."""

from __future__ import annotations

import posixpath
from collections import Counter
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
UNIT_KINDS = ("stop", "disable")


def quick(found: list[Mutation]) -> list[Mutation]:
    """The quick tier, on each machine: every unit, every managed directory and every kind of unit and file
    mutation at least once, every cron entry and every custom mutation. Kinds rotate (each pick takes the kind
    picked least so far), so four directories get four kinds, not four edits, and one unit is both stopped and
    disabled. The matrix's order is kept."""
    picked: set[int] = set()
    for machine in dict.fromkeys(m.machine for m in found):
        mine = [(i, m) for i, m in enumerate(found) if m.machine == machine]
        picked |= _cover([(i, m) for i, m in mine if m.kind in FILE_KINDS], lambda m: posixpath.dirname(m.item))
        picked |= _cover([(i, m) for i, m in mine if m.kind in UNIT_KINDS], lambda m: m.item)
        picked |= {i for i, m in mine if m.kind not in FILE_KINDS + UNIT_KINDS}
    return [m for i, m in enumerate(found) if i in picked]


def _cover(candidates: list[tuple[int, Mutation]], group: Callable[[Mutation], str]) -> set[int]:
    """One mutation per group, of the kind picked least so far (ties: the matrix's order); then one of each kind
    still missing, in the group sampled least, on an item not sampled yet where there is one."""
    kinds: Counter[str] = Counter()
    groups: Counter[str] = Counter()
    items: Counter[str] = Counter()
    picked: set[int] = set()

    def pick(among: list[tuple[int, Mutation]]) -> None:
        index, mutation = min(among, key=lambda c: (kinds[c[1].kind], groups[group(c[1])], items[c[1].item], c[0]))
        picked.add(index)
        kinds[mutation.kind] += 1
        groups[group(mutation)] += 1
        items[mutation.item] += 1

    for name in dict.fromkeys(group(m) for _, m in candidates):
        pick([c for c in candidates if group(c[1]) == name])
    missing = [kind for kind in dict.fromkeys(m.kind for _, m in candidates) if not kinds[kind]]
    for kind in missing:
        pick([c for c in candidates if c[1].kind == kind])
    return picked
