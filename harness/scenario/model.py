"""Scenario files: ``scenarios/*.yaml`` shipped with the harness, plus a deployer's own."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.checks.steps import DAEMONSET_STEPS, STEPS
from harness.errors import HarnessError
from harness.faults.spec import FaultSpec, faults_section
from harness.resources import scenarios_dir
from harness.yaml_fields import Fields, load_yaml_documents

WORKLOADS = ("any", "job", "daemonset")
# Steps that compare or mutate what earlier steps took: (that step or any of those, how many, what is missing, the
# fix).
_PREREQUISITES: dict[str, tuple[str | tuple[str, ...], int, str, str]] = {
    "expect-no-diff": (
        "snapshot",
        2,
        "compares the last two snapshots, and fewer come before it",
        "add `snapshot` steps",
    ),
    "expect-clean-rollback": ("scan", 2, "compares the last two scans, and fewer come before it", "add `scan` steps"),
    "drift": (
        "snapshot",
        1,
        "mutates the host as the last snapshot saw it, and no snapshot comes before it",
        "put `apply` and `snapshot` before `drift`",
    ),
    "fault": (
        ("snapshot", "scan"),
        1,
        "strikes a host no snapshot or scan saw: nothing to compare it with afterwards",
        "put `apply` and `snapshot` (or a `scan`) before the first `fault`",
    ),
    "crash-points": (
        "snapshot",
        1,
        "compares each point's host with the converged snapshot, and none comes before it",
        "put `apply` and `snapshot` before `crash-points`",
    ),
    "expect-converges-on-rerun": (
        "snapshot",
        1,
        "compares the host with the converged snapshot, and none comes before it",
        "put `apply` and `snapshot` before it",
    ),
    "expect-host-unchanged": (
        "snapshot",
        1,
        "compares the host with a snapshot taken before the fault, and none comes before it",
        "put `apply` and `snapshot` before the `fault`",
    ),
    "expect-failed-or-unchanged": (
        "snapshot",
        1,
        "compares the host with a snapshot taken before the fault, and none comes before it",
        "put `apply` and `snapshot` before the `fault`",
    ),
    "expect-others-converged": (
        "scan",
        4,
        "compares four scans (before, with a host down, once healed, once more), and fewer come before it",
        "take a `scan` before the `fault` and after each of the three applies",
    ),
}


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    steps: tuple[str, ...]
    path: Path
    workload: str = "any"  # any, job or daemonset: which deployers the scenario is for
    faults: tuple[FaultSpec, ...] = ()  # struck in order by its `fault` steps


def load_scenario(path: Path) -> Scenario:
    documents = load_yaml_documents(path, "scenario")
    if len(documents) != 1:
        raise HarnessError("must hold exactly one YAML document", where=path)
    top = Fields(path, documents[0], known=("name", "description", "steps", "workload", "faults"))
    steps = top.data.get("steps")
    if not isinstance(steps, list) or not steps:
        raise top.error("steps", "must be a non-empty list of step names", f"steps: {', '.join(STEPS)}")
    for index, step in enumerate(steps):
        if not isinstance(step, str) or step not in STEPS:
            raise top.error(f"steps[{index}]", f"is {step!r}, which is not a step", f"use one of: {', '.join(STEPS)}")
        needed = _PREREQUISITES.get(step)
        if needed is not None and sum(steps[:index].count(kind) for kind in _kinds(needed[0])) < needed[1]:
            raise top.error(f"steps[{index}]", needed[2], needed[3])
    workload = top.choice("workload", "any", WORKLOADS)
    for index, step in enumerate(steps):
        if step in DAEMONSET_STEPS and workload != "daemonset":
            raise top.error(
                f"steps[{index}]", f"is `{step}`, a DaemonSet step", "give the scenario `workload: daemonset`"
            )
    faults = faults_section(top)
    if steps.count("fault") != len(faults):
        raise top.error(
            "faults",
            f"lists {len(faults)} fault(s) for {steps.count('fault')} `fault` step(s)",
            "give each `fault` step its fault, in order",
        )
    return Scenario(top.text("name", path.stem), top.text("description", ""), tuple(steps), path, workload, faults)


def _kinds(needed: str | tuple[str, ...]) -> tuple[str, ...]:
    return needed if isinstance(needed, tuple) else (needed,)


def scenarios_for(deployer_folder: Path | None = None) -> list[Scenario]:
    """Shipped scenarios, then the deployer's own (``<deployer>/scenarios/*.yaml``), which may replace one by name."""
    found: dict[str, Scenario] = {}
    folders = [scenarios_dir()] + ([deployer_folder / "scenarios"] if deployer_folder else [])
    for folder in folders:
        for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
            scenario = load_scenario(path)
            found[scenario.name] = scenario
    return list(found.values())
