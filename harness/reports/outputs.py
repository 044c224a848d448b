"""Where the run's reports go at its end: ``--deployer-json PATH``, ``--deployer-html PATH`` and
``--deployer-sarif PATH`` (or their ini settings), and the CI job's step summary when ``$GITHUB_STEP_SUMMARY``
names a file. Each is written on its own: one that cannot be written is said, and does not keep the others from
being written."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from harness import PROJECT
from harness.reports.html_report import write_html
from harness.reports.json_report import write_json
from harness.reports.results import ItemResult
from harness.reports.sarif import write_sarif
from harness.reports.step_summary import step_summary


def write_reports(config: pytest.Config, run: dict[str, Any], items: Sequence[ItemResult]) -> None:
    summary = os.environ.get("GITHUB_STEP_SUMMARY", "").strip()
    writers: list[tuple[Path | None, Callable[[Path], None]]] = [
        (report_path(config, "deployer_json"), lambda path: write_json(path, run, items)),
        (report_path(config, "deployer_html"), lambda path: write_html(path, run, items)),
        (report_path(config, "deployer_sarif"), lambda path: write_sarif(path, items, config.rootpath)),
        (Path(summary) if summary and items else None, lambda path: _append(path, step_summary(run, items))),
    ]
    for target, write in writers:
        if target is None:
            continue
        try:
            write(target)
        except Exception as exc:  # said, not a traceback after the verdicts
            print(f"{PROJECT}: could not write a report to {target}: {type(exc).__name__}: {exc}", file=sys.stderr)


def report_path(config: pytest.Config, name: str) -> Path | None:
    """The option's path (from where pytest was started), else the ini setting's (from the rootdir)."""
    option, ini = config.getoption(name), str(config.getini(name)).strip()
    return config.invocation_params.dir / option if option else config.rootpath / ini if ini else None


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as out:
        out.write(text)
