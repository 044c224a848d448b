"""``--deployer-json PATH``: the run's results as data, in the shape ``report.schema.json`` documents: every
verdict, diff, finding, drift row and rollback leftover, with no prose to parse."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.reports.results import ItemResult

SCHEMA = "deployer-harness/report/2"  # 2: drift rows as values, with their evidence; step timelines
SCHEMA_FILE = Path(__file__).with_name("report.schema.json")


def report_data(run: dict[str, Any], items: Sequence[ItemResult]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item.outcome] = counts.get(item.outcome, 0) + 1
    return {"schema": SCHEMA, "run": run, "counts": counts, "items": [item.as_data() for item in items]}


def write_json(path: Path, run: dict[str, Any], items: Sequence[ItemResult]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report_data(run, items), indent=2) + "\n")
