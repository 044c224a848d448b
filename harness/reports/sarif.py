"""``--deployer-sarif PATH``: the lint scenario's findings as SARIF 2.1.0, for code scanning (GitHub's
``upload-sarif`` action shows them on the lines of a pull request). A finding's file is given from the run's root
(``%SRCROOT%``), as the repository names it; a finding the spec declares in ``lint.allow`` is a suppressed result,
with its reason as the justification."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness import PROJECT, __version__
from harness.deployer.lint_section import CHECKS, DESCRIPTIONS
from harness.reports.results import ItemResult

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"fail": "error", "warn": "warning"}
ROOT = "%SRCROOT%"


def sarif(items: Sequence[ItemResult], root: Path) -> dict[str, Any]:
    findings = [finding for item in items for finding in item.as_data()["lint"]]
    checks = sorted({finding["check"] for finding in findings})
    rules = [
        {
            "id": check,
            "name": check,
            "shortDescription": {"text": DESCRIPTIONS.get(check, check)},
            "defaultConfiguration": {"level": LEVELS.get(CHECKS.get(check, "fail"), "note")},
        }
        for check in checks
    ]
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": PROJECT, "version": __version__, "rules": rules}},
                "originalUriBaseIds": {ROOT: {"uri": root.resolve().as_uri() + "/"}},
                "results": [_result(finding, checks.index(finding["check"]), root) for finding in findings],
            }
        ],
    }


def write_sarif(path: Path, items: Sequence[ItemResult], root: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(sarif(items, root), indent=2) + "\n", encoding="utf-8")


def _result(finding: dict[str, Any], index: int, root: Path) -> dict[str, Any]:
    text = finding["message"] + (f"\n{finding['detail']}" if finding["detail"] else "") + f"\nFix: {finding['fix']}"
    result: dict[str, Any] = {
        "ruleId": finding["check"],
        "ruleIndex": index,
        "level": LEVELS.get(finding["severity"], "note"),
        "message": {"text": text},
        "locations": [{"physicalLocation": _location(Path(finding["file"]), finding["line"], root)}],
    }
    if finding["allowed"] is not None:
        result["suppressions"] = [{"kind": "external", "justification": finding["allowed"]}]
    return result


def _location(file: Path, line: int | None, root: Path) -> dict[str, Any]:
    try:
        artifact = {"uri": file.resolve().relative_to(root.resolve()).as_posix(), "uriBaseId": ROOT}
    except ValueError:  # outside the run's root: as it is
        artifact = {"uri": file.resolve().as_uri()}
    location: dict[str, Any] = {"artifactLocation": artifact}
    if line:
        location["region"] = {"startLine": line}
    return location
