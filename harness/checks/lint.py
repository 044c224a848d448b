"""Lint: what a deployer ships, checked with no machine (see :mod:`harness.lint`): each finding with its file, its
line and the fix, counted as the spec's ``lint.severity`` says, declared ones apart with their reasons."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path

from harness.checks import report as r
from harness.checks.judged import report_findings
from harness.checks.report import StepReport
from harness.deployer.spec import DeployerSpec
from harness.deployment import Deployment
from harness.lint.run import lint as run_lint


def lint_report(spec: DeployerSpec, now: datetime | None = None) -> StepReport:
    result = run_lint(spec, now or datetime.now())
    counted = [f for f in result.findings if f.allowed is None]
    declared = [f for f in result.findings if f.allowed is not None]
    counts = Counter(f.severity for f in counted)
    summary = f"{len(result.looked_at)} file(s): {counts['fail']} failing, {counts['warn']} warning(s)"
    report = StepReport()
    report.add(r.LINT, summary + (f", {len(declared)} declared" if declared else ""))
    report.add(r.LINT_DATA, json.dumps([f.to_data() for f in result.findings], separators=(",", ":")))
    report_findings(report, result.findings, spec.folder, "lint")
    details = [f"{f.where(spec.folder)}: {f.detail}" for f in counted if f.detail]
    if details:
        report.section("lint: details", "\n".join(details))
    if result.not_checked:
        unchecked = [f"{_relative(path, spec)}: {what}" for path, what in result.not_checked]
        report.section(f"lint: not checked against Kubernetes {result.kubernetes}'s schemas", "\n".join(unchecked))
    if result.schedules:
        report.section("lint: each cron entry's next month", "\n".join(result.schedules))
    return report


def _relative(path: Path, spec: DeployerSpec) -> str:
    return str(path.relative_to(spec.folder)) if path.is_relative_to(spec.folder) else str(path)


def lint(deployment: Deployment) -> StepReport:
    return lint_report(deployment.spec)
