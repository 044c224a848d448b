"""The cron.d files the deployer wrote, read on each machine after its first apply: the lint scenario's cron
checks on what cron will really read (a file rendered from a template, or written by a heredoc), and its mode and
owner. Counted as the spec's ``lint.severity`` and ``lint.allow`` say (see :mod:`harness.lint.cron_written`)."""

from __future__ import annotations

from datetime import datetime

from harness.checks import report as r
from harness.checks.judged import report_findings
from harness.checks.report import StepReport
from harness.deployment import Deployment
from harness.lint.cron_written import LIST_SCRIPT, check_written, parse_listing, written_files
from harness.lint.findings import Finding
from harness.lint.policy import reported


def cron_files(deployment: Deployment) -> StepReport:
    state, spec = deployment.state, deployment.spec
    report = StepReport()
    findings: list[Finding] = []
    schedules: list[str] = []
    now = datetime.now()
    for machine, run in state.runners.items():
        code, out, err = run(LIST_SCRIPT)
        if code != 0:
            report.failure = f"{machine}: /etc/cron.d could not be read: {err.decode(errors='replace').strip()}"
            return report
        derived = state.derived.get(machine)
        written = written_files(parse_listing(out), derived.paths if derived is not None else None)
        for file in written:
            found, entries = check_written(machine, file, now)
            findings += found
            schedules += entries
        if written:
            report.add(r.CRON_FILES, f"{machine}: {', '.join(file.path for file in written)}")
    kept = reported(findings, spec.lint, spec.folder)
    if schedules:
        report.section("cron.d files written: each entry's next month", "\n".join(schedules))
    report_findings(report, kept, spec.folder, "the cron.d files the deployer wrote")
    return report
