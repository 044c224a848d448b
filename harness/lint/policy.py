"""How much each lint finding counts: the severity the spec's ``lint.severity`` gives its check, and the reason
``lint.allow`` gives when the deployer declares it (see :mod:`harness.deployer.lint_section`)."""

from __future__ import annotations

import fnmatch
from dataclasses import replace
from pathlib import Path

from harness.deployer.lint_section import Allowance, LintSpec
from harness.lint.findings import Finding


def judged(findings: list[Finding], spec: LintSpec, folder: Path) -> list[Finding]:
    """Each finding with the severity the spec gives its check, and the reason when the spec allows it."""
    out = []
    for finding in findings:
        finding = finding.with_severity(spec.severity.get(finding.check, finding.severity))
        allowance = next((a for a in spec.allow if _covers(a, finding, folder)), None)
        out.append(replace(finding, allowed=allowance.reason) if allowance is not None else finding)
    return out


def reported(findings: list[Finding], spec: LintSpec, folder: Path) -> list[Finding]:
    """:func:`judged`, without the findings whose check the spec sets to `ignore`: what a report shows."""
    return [finding for finding in judged(findings, spec, folder) if finding.severity != "ignore"]


def _covers(allowance: Allowance, finding: Finding, folder: Path) -> bool:
    if allowance.check != finding.check:
        return False
    if allowance.file is None:
        return True
    try:
        relative = str(finding.file.relative_to(folder))
    except ValueError:
        relative = str(finding.file)
    return fnmatch.fnmatch(relative, allowance.file)
