"""Each item's result as data, from its pytest report: the controller gets every worker's reports, so the run's
results are whole whatever xdist did. Every value was masked when the item recorded it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from harness.checks import report as r

DATA_PROPERTIES = {
    r.DIFF_DATA: "diffs",
    r.DRIFT_DATA: "drift",
    r.ROLLBACK_DATA: "rollback",
    r.STEPS_DATA: "steps",
    r.LINT_DATA: "lint",
}


@dataclass
class ItemResult:
    nodeid: str
    deployer: str
    scenario: str
    outcome: str  # passed, failed, skipped, error
    seconds: float
    message: str = ""  # the failure's first line, or why it was skipped
    failure: str = ""  # the failure as the terminal shows it (its evidence: logs, diffs, pod logs)
    properties: list[tuple[str, str]] = field(default_factory=list)

    def values(self, name: str) -> list[str]:
        return [value for key, value in self.properties if key == name]

    def data(self, name: str) -> list[Any]:
        """A property that holds JSON, parsed (each time it was recorded)."""
        found = []
        for value in self.values(name):
            try:
                found.append(json.loads(value))
            except ValueError:
                continue
        return found

    def as_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "nodeid": self.nodeid,
            "deployer": self.deployer,
            "scenario": self.scenario,
            "outcome": self.outcome,
            "seconds": round(self.seconds, 3),
            "message": self.message,
            "failure": self.failure,
            "findings": self.values(r.FINDING),
            "images": self.values(r.IMAGE),
            "timing": next(iter(self.values(r.TIMING)), ""),
            "steps": next(iter(self.data(r.STEPS_DATA)), []),
            "diffs": [change for diff in self.data(r.DIFF_DATA) for change in diff],
            "drift": next(iter(self.data(r.DRIFT_DATA)), None),
            "rollback_leftovers": [change for kept in self.data(r.ROLLBACK_DATA) for change in kept],
            "lint": [finding for found in self.data(r.LINT_DATA) for finding in found],
        }
        skipped = {r.SCENARIO, r.DEPLOYER, *DATA_PROPERTIES}
        data["properties"] = [[key, value] for key, value in self.properties if key not in skipped]
        return data


def item_result(report: Any) -> ItemResult | None:
    """An item of the harness's (one of its scenarios), from the report of one phase: the call's, or a teardown's
    that failed after it (its properties come with the item). None for anything else: a phase before the scenario
    ran carries none of them."""
    properties = [(str(k), str(v)) for k, v in report.user_properties]
    scenario = next((value for key, value in properties if key == r.SCENARIO), None)
    if scenario is None:
        return None
    if report.when != "call" and report.passed:
        return None
    outcome = report.outcome if report.when == "call" or report.skipped else "error"
    return ItemResult(
        nodeid=report.nodeid,
        deployer=next((value for key, value in properties if key == r.DEPLOYER), ""),
        scenario=scenario,
        outcome=outcome,
        seconds=float(report.duration),
        message=_message(report),
        failure=_failure(report),
        properties=properties,
    )


FAILURE_CHARS = 20000


def _failure(report: Any) -> str:
    if not (report.failed or report.outcome == "error"):
        return ""
    return shortened(str(report.longreprtext or "").strip("\n"), FAILURE_CHARS)


def shortened(text: str, limit: int) -> str:
    """At most about ``limit`` characters: the start (the verdict) and the end (the last attempt's log), saying
    how much of the middle was cut."""
    if len(text) <= limit:
        return text
    head, tail = limit // 5, limit - limit // 5
    return f"{text[:head]}\n... ({len(text) - head - tail} characters cut here) ...\n{text[-tail:]}"


def _message(report: Any) -> str:
    if report.passed:
        return ""
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    crash: Any = getattr(report.longrepr, "reprcrash", None)
    message = str(crash.message) if crash is not None else ""
    if message:  # the verdict's first line (not xdist's header)
        return message
    text = str(report.longreprtext or "")
    return text.strip().splitlines()[0] if text.strip() else ""
