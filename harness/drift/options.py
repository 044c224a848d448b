"""How much of the drift matrix a run makes, and on how many lanes (``--drift``, ``--drift-workers``); whether the
crash points, which run on the same lanes, run at all."""

from __future__ import annotations

from dataclasses import dataclass

from harness.errors import HarnessError

SKIPPED = (
    "the drift matrix is not part of the gate (the default run): `-m drift` runs its quick tier, `--drift=full`"
    " every mutation"
)
CRASH_POINTS_SKIPPED = "crash points are not part of the gate (the default run): `-m crash-points` runs them"
# skip: not part of the gate; quick: a sample (see harness.drift.targets.quick); full: every mutation.
TIERS = ("skip", "quick", "full")


@dataclass(frozen=True)
class DriftOptions:
    tier: str = "full"  # the library's default; the plugin chooses (see harness.plugin)
    lanes: int = 0  # copies of the converged machines that take mutations side by side; 0: the engine's CPUs
    crash_points: bool = True  # the library's default; the plugin runs them only when the selection names them

    def __post_init__(self) -> None:
        if self.tier not in TIERS:
            raise HarnessError(f"the drift tier is {self.tier!r}", fix=f"use one of {', '.join(TIERS)}")
        if self.lanes < 0:
            raise HarnessError(f"the drift workers are {self.lanes}", fix="give a count of 1 or more (0: the CPUs)")
