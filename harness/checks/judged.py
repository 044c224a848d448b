"""Findings judged by the spec's ``lint.severity`` and ``lint.allow`` (lint, cron-files, secrets, gitops), into a
step's report the same way: those that count as findings, the declared ones in a section of their own with their
reasons (not findings: a declared one is on purpose), and the failure when any that counts fails."""

from __future__ import annotations

from pathlib import Path

from harness.checks import report as r
from harness.checks.report import StepReport
from harness.lint.findings import Finding


def report_findings(report: StepReport, findings: list[Finding], folder: Path, what: str) -> None:
    counted = [f for f in findings if f.allowed is None]
    declared = [f for f in findings if f.allowed is not None]
    for finding in counted:
        report.add(r.FINDING, finding.line_of_report(folder))
    if declared:
        shown = [f"{f.line_of_report(folder)}\n    declared: {f.allowed}" for f in declared]
        report.section(f"{what}: declared in lint.allow", "\n".join(shown))
    failing = [f for f in counted if f.severity == "fail"]
    if failing:
        lines = "\n".join(f"  {f.line_of_report(folder)}" for f in failing)
        report.failure = f"{what}: {len(failing)} finding(s) fail\n{lines}"
