"""GitHub Actions annotations (``::error file=…,line=…::``): a failing item, or a usage error, marked on the file a
reviewer would open, in a pull request's diff. Written when ``GITHUB_ACTIONS`` is ``true``."""

from __future__ import annotations

import os
import re
from pathlib import Path

from harness.reports.results import ItemResult

_WHERE = re.compile(r"^(?P<file>[^:\n]+?)(?::(?P<line>\d+))?$")


def in_github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS", "") == "true"


def error_annotation(
    message: str, *, file: str | None = None, title: str = "", line: int | None = None, level: str = "error"
) -> str:
    """One workflow command (``error`` or ``warning``); its parameters and message escaped as the runner reads
    them."""
    parameters = []
    if file:
        parameters.append(f"file={_parameter(_relative(file))}")
        if line:
            parameters.append(f"line={line}")
    if title:
        parameters.append(f"title={_parameter(title)}")
    joined = ",".join(parameters)
    return f"::{level}{' ' + joined if joined else ''}::{_data(message)}"


def where_of(where: str | None) -> tuple[str | None, int | None]:
    """A HarnessError's ``where`` (``path`` or ``path:line``) as a file and a line."""
    match = _WHERE.match(where or "")
    if match is None:
        return None, None
    line = match.group("line")
    return match.group("file"), int(line) if line else None


def _relative(file: str) -> str:
    """As the repository names it: annotations point into the checkout the workflow runs in."""
    base = Path(os.environ.get("GITHUB_WORKSPACE") or os.getcwd())
    try:
        return str(Path(file).resolve().relative_to(base.resolve()))
    except ValueError:
        return file


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _parameter(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def lint_annotations(result: ItemResult, title: str) -> list[str]:
    """Each lint finding that counts, on its file and line: an error when it fails the item, else a warning."""
    return [
        error_annotation(
            f"{finding['check']}: {finding['message']} (fix: {finding['fix']})",
            file=finding["file"],
            line=finding["line"],
            title=title,
            level="error" if finding["severity"] == "fail" else "warning",
        )
        for finding in result.as_data()["lint"]
        if finding["allowed"] is None
    ]
