"""Run a deployer's testinfra tests against its machines, in a pytest of their own.

A separate process keeps the user's tests apart from the harness session (their
own conftest, no xdist, no --deployer), and a JUnit file brings the verdicts back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.deployer.spec import DeployerSpec

TARGETS_ENV = "DEPLOYER_HARNESS_TARGETS"


@dataclass
class CheckResult:
    name: str
    outcome: str  # passed, failed, error, skipped
    message: str = ""


@dataclass
class VerifyResult:
    checks: list[CheckResult] = field(default_factory=list)
    output: str = ""
    returncode: int = 0

    @property
    def failed(self) -> list[CheckResult]:
        return [c for c in self.checks if c.outcome in ("failed", "error")]

    @property
    def passed(self) -> bool:
        return self.returncode == 0 and not self.failed and bool(self.checks)

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for check in self.checks:
            counts[check.outcome] = counts.get(check.outcome, 0) + 1
        return ", ".join(f"{n} {o}" for o, n in sorted(counts.items())) or "no checks ran"

    def describe(self) -> str:
        lines = [f"verify: {self.summary()}"]
        for check in self.failed:
            lines.append(f"  FAILED {check.name}")
            lines += [f"    | {line}" for line in check.message.strip().splitlines()[-15:]]
        if not self.checks or self.returncode not in (0, 1):
            lines += [f"    | {line}" for line in self.output.strip().splitlines()[-30:]]
        return "\n".join(lines)


def verify(
    spec: DeployerSpec,
    machines: dict[str, dict[str, str]],  # how to reach each: address and key, or a container for `docker exec`
    workdir: Path,
    cluster: dict[str, Any] | None = None,
) -> VerifyResult:
    if spec.tests is None:
        return VerifyResult(output=f"{spec.folder}: no tests/ folder, nothing to verify", returncode=5)
    default = spec.verify_host or spec.machines[0].name
    targets = {
        "default": default,
        "machines": machines,
        "secrets": spec.secrets,
        "cluster": cluster,
    }
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "targets.json").write_text(json.dumps(targets))
    (workdir / "pytest.ini").write_text("[pytest]\n")  # the user's own ini must not leak into this run
    junit = workdir / "verify.xml"
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(spec.tests),
        "-c",
        str(workdir / "pytest.ini"),
        "--rootdir",
        str(spec.folder),
        "-p",
        "harness.verify_fixtures",
        "-p",
        "no:pytest11.testinfra",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:xdist",
        "-p",
        "no:deployer_harness",
        f"--junitxml={junit}",
        "-o",
        "junit_family=xunit1",
        "-q",
        "--no-header",
        "-rN",
    ]
    # No __pycache__ in the deployer's folder: it would read as an uncommitted change to git (rollback).
    env = {**os.environ, TARGETS_ENV: str(workdir / "targets.json"), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTEST_XDIST_WORKER", None)
    env.pop("PYTEST_ADDOPTS", None)
    process = subprocess.run(command, capture_output=True, text=True, env=env, cwd=spec.folder)
    return VerifyResult(_checks(junit), process.stdout + process.stderr, process.returncode)


def _checks(junit: Path) -> list[CheckResult]:
    if not junit.exists():
        return []
    results = []
    for case in ElementTree.parse(junit).iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}".lstrip(":")
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            element = case.find(tag)
            if element is not None:
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[tag]
                message = (element.text or element.get("message") or "").strip()
                break
        results.append(CheckResult(name, outcome, message))
    return results
