"""A lint finding: what is wrong, where (file and line), the fix, and how much it counts (fail, warn, ignore)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Finding:
    check: str  # its id, as `lint.severity` and `lint.allow` name it: cron-name, ssh-host-key, ...
    file: Path
    line: int | None
    message: str
    fix: str
    severity: str = "fail"  # the check's default, until the spec's `lint.severity` says otherwise
    detail: str = ""  # evidence beyond the message (the dates a cron entry fires on)
    allowed: str | None = None  # the reason the spec's `lint.allow` gives for it
    machine: str | None = None  # a file on this machine (one the deployer wrote), not in the deployer's folder

    def where(self, root: Path) -> str:
        if self.machine is not None:
            shown = f"{self.machine}:{self.file}"
        else:
            try:
                shown = str(self.file.relative_to(root))
            except ValueError:
                shown = str(self.file)
        return f"{shown}:{self.line}" if self.line else shown

    def line_of_report(self, root: Path) -> str:
        return f"{self.severity}: {self.check}: {self.where(root)}: {self.message} (fix: {self.fix})"

    def to_data(self) -> dict[str, Any]:
        """As the JSON report and SARIF carry it (see ``report.schema.json``)."""
        return {
            "check": self.check,
            "severity": self.severity,
            "file": str(self.file if self.machine is not None else self.file.resolve()),
            "line": self.line,
            "message": self.message,
            "fix": self.fix,
            "detail": self.detail,
            "allowed": self.allowed,
        }

    def with_severity(self, severity: str) -> Finding:
        return replace(self, severity=severity)
