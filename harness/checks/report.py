"""What the checks report, and how: the JUnit property names, the report sections, the terminal summary lines.

Every step returns a :class:`StepReport`; :class:`ScenarioLog` gathers them with every secret masked, and
:func:`summary_lines` turns an item's properties back into the summary the plugin prints.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# JUnit property names. Inline ones go on the item's summary line; LINES get lines of their own; DATA only
# reaches JUnit readers (JSON).
SCENARIO = "scenario"  # marks an item as the harness's own
DEPLOYER = "deployer"  # which deployer's item it is (for the reports)
MACHINES_READY = "machines_ready"
SHARED = "shared"  # its steps ran in a longer scenario's deployment
TIMING = "timing"
STEPS_DATA = "steps_data"  # the timeline: each step's start (seconds after the first), length, and whether it failed
IMAGE = "image"  # each version's image as applied: the engine's ID (sha256:...), and the tag it was given by
APPLY = "apply"  # numbered: apply1, apply2, ...
JOURNAL = "journal"  # numbered as the apply: each machine's remote commands, counted by kind
WORLD = "world"  # numbered as the apply: what it asked of the world (requests served and refused)
PREVIOUS = "previous"
WATCHED = "watched"
DERIVED_AFTER = "derived_after"  # what said the first apply had finished (a DaemonSet's first pass)
SNAPSHOT = "snapshot"  # numbered
SCAN = "scan"  # numbered
VERIFY = "verify"
DIFF = "diff"
DIFF_DATA = "diff_data"
FINDING = "finding"
UNTARGETED = "untargeted"
ROLLOUT = "rollout"
DRIFT = "drift"
DRIFT_CHECK = "drift_check"
DRIFT_PROFILE = "drift_profile"  # where a mutation's time goes, and the deployer's own share
DRIFT_RUN = "drift_run"  # the tier, how many mutations of how many, on how many lanes
DRIFT_MATRIX = "drift_matrix"
DRIFT_DATA = "drift_data"
ROLLBACK = "rollback"
LINT = "lint"  # what the lint scenario looked at, and how many findings fail
GITOPS = "gitops"  # the Flux objects read, and how many findings fail
GITOPS_UPDATE = "gitops_update"  # a commit of the end-to-end run: its tags and the policy's pick
GITOPS_REWRITE = "gitops_rewrite"  # a line the setters rewrote: file:line: old -> new
SECRETS = "secrets"  # how many secret values were looked for, where, and what was found
CRON_FILES = "cron_files"  # the cron.d files the deployer wrote, by machine
LINT_DATA = "lint_data"  # each lint finding as data: check, severity, file, line, message, fix (for SARIF)
FAULT = "fault"  # what struck (or was armed), and where
HEALED = "healed"
APPLY_FAILED = "apply_failed"  # a failed apply, as a fault scenario expects
HOST_DOWN = "host_down"  # a fleet with one host down: each host, converged during the fault or not
CRASH_POINTS = "crash_points"  # how many, how many fail, the cost of one
CRASH_POINT = "crash_point"  # one line per point
LEFTOVER = "leftover"
ROLLBACK_DATA = "rollback_data"
SHELL = "shell"

LINES = (DIFF, FINDING, DRIFT_MATRIX, LEFTOVER, SHELL)
DATA = (SCENARIO, DEPLOYER, DIFF_DATA, DRIFT_DATA, ROLLBACK_DATA, STEPS_DATA, LINT_DATA)
NO_CHANGE = "no change"  # a diff stat with nothing to show


@dataclass
class StepReport:
    """What one step found: properties for JUnit and the summary, sections for the pytest report, and the
    failure message when the step's verdict is negative."""

    properties: list[tuple[str, str]] = field(default_factory=list)
    sections: list[tuple[str, str]] = field(default_factory=list)
    failure: str | None = None

    def add(self, name: str, value: object) -> None:
        self.properties.append((name, str(value)))

    def section(self, title: str, text: str) -> None:
        self.sections.append((title, text))


class StepFailed(Exception):
    """A step's verdict is negative; the message is the report."""


@dataclass
class ScenarioLog:
    """Every step's report, in order, with every secret masked: the item's properties and sections."""

    mask: Callable[[str], str] = lambda text: text
    properties: list[tuple[str, str]] = field(default_factory=list)
    sections: list[tuple[str, str]] = field(default_factory=list)

    def record(self, name: str, value: object) -> None:
        self.properties.append((name, mask_property(name, str(value), self.mask)))

    def add(self, report: StepReport) -> None:
        for name, value in report.properties:
            self.record(name, value)
        self.sections += [(self.mask(title), self.mask(text)) for title, text in report.sections]


JSON_DATA = (DIFF_DATA, DRIFT_DATA, ROLLBACK_DATA, STEPS_DATA, LINT_DATA)


def mask_property(name: str, value: str, mask: Callable[[str], str]) -> str:
    """A property's value, masked. JSON data is masked value by value: masking its text would miss a secret that
    JSON escapes, and a secret such as `false` would break the JSON."""
    if name not in JSON_DATA:
        return mask(value)
    try:
        data = json.loads(value)
    except ValueError:
        return mask(value)
    return json.dumps(_masked(data, mask), separators=(",", ":"))


def _masked(data: Any, mask: Callable[[str], str]) -> Any:
    if isinstance(data, str):
        return mask(data)
    if isinstance(data, list):
        return [_masked(value, mask) for value in data]
    if isinstance(data, dict):
        return {key: _masked(value, mask) for key, value in data.items()}
    return data


def quoted_tail(text: str, limit: int, indent: str = "    ") -> tuple[list[str], int]:
    """The last ``limit`` lines of ``text`` quoted (`    | line`), or `(nothing)`; and how many lines it had."""
    lines = text.rstrip("\n").splitlines()
    return [f"{indent}| {line}" for line in lines[-max(1, limit) :]] or [f"{indent}| (nothing)"], len(lines)


def summary_lines(outcome: str, nodeid: str, properties: list[tuple[str, str]]) -> list[str]:
    """An item's lines in the terminal summary: its verdict with the inline properties, then its diffs,
    findings, drift matrix, leftovers and shell hints."""
    inline = ", ".join(f"{k}: {v}" for k, v in properties if k not in LINES and k not in DATA)
    lines = [f"{outcome.upper():7} {nodeid}  {inline}"]
    for key, value in properties:
        if key in LINES and value != NO_CHANGE:
            lines += [f"        {line}" for line in value.splitlines()]
    return lines


def is_scenario(properties: list[tuple[str, str]]) -> bool:
    return any(k == SCENARIO for k, _ in properties)
