"""A CI job's step summary (``$GITHUB_STEP_SUMMARY``): per deployer, the verdicts, the state diffs (folded), the
drift matrix as a table, what a rollback left behind, and the time each item took. Markdown, as GitHub renders it;
every value was masked when the item recorded it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from harness.checks import report as r
from harness.reports.results import ItemResult, shortened

LIMIT = 1000 * 1024  # bytes: under GitHub's 1 MiB a step
_MARK = {"passed": "✅ passed", "failed": "❌ failed", "error": "❌ error", "skipped": "⏭ skipped"}


def step_summary(run: dict[str, Any], items: Sequence[ItemResult]) -> str:
    lines = [f"# deployer-harness: run {run['id']}", "", f"{run['engine']}", ""]
    for image, given in sorted(run.get("images", {}).items()):
        lines.append(f"- image under test for `{image}`: `{given['ref']}` = `{given['id']}`")
    for deployer in dict.fromkeys(item.deployer for item in items):
        lines += _deployer(deployer, [item for item in items if item.deployer == deployer])
    text = "\n".join(lines) + "\n"
    if len(text.encode()) > LIMIT:  # GitHub drops a step summary over 1 MiB whole
        text = text.encode()[:LIMIT].decode(errors="ignore") + "\n\n(cut: the whole run is in --deployer-json)\n"
    return text


def _deployer(name: str, items: list[ItemResult]) -> list[str]:
    lines = ["", f"## `{name}`", "", "| scenario | verdict | time | detail |", "|---|---|---|---|"]
    for item in items:
        detail = _cell(item.message or "; ".join(item.values(r.FINDING))[:300])
        lines.append(f"| {item.scenario} | {_MARK.get(item.outcome, item.outcome)} | {item.seconds:.1f} s | {detail} |")
    for item in items:
        lines += _failure(item) + _diffs(item) + _drift(item) + _leftovers(item)
    timings = [f"- {item.scenario}: {item.values(r.TIMING)[0]}" for item in items if item.values(r.TIMING)]
    if timings:
        lines += ["", "<details><summary>timings</summary>", "", *timings, "", "</details>"]
    return lines


FAILURE_CHARS = 3000  # of each failure in the summary: the whole is in the JSON and HTML reports


def _failure(item: ItemResult) -> list[str]:
    if not item.failure:
        return []
    text = shortened(item.failure, FAILURE_CHARS)
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", text)), default=0))  # longer than any inside
    return ["", f"<details><summary>{item.scenario}: the failure</summary>", "", fence, text, fence, "", "</details>"]


def _diffs(item: ItemResult) -> list[str]:
    changes = [change for diff in item.data(r.DIFF_DATA) for change in diff]
    if not changes:
        return []
    lines = ["", f"<details><summary>{item.scenario}: {len(changes)} change(s) and finding(s)</summary>", "", "```diff"]
    for change in changes:
        mark = "!" if change.get("finding") else "~"
        lines.append(
            f"{mark} {change['machine']}: {change['section']} {change['item']} | {change['kind']}: {change['detail']}"
        )
        lines += [f"  {line}" for line in str(change.get("patch", "")).splitlines()]
    return [*lines, "```", "", "</details>"]


def _drift(item: ItemResult) -> list[str]:
    rows = next(iter(item.data(r.DRIFT_DATA)), None)
    if not rows:
        return []
    lines = ["", f"### {item.scenario}: drift matrix", "", "| machine | mutation | item | detected | healed |"]
    lines.append("|---|---|---|---|---|")
    for row in rows:
        cells = [row["machine"], row["mutation"], row["item"], row["detected"], row["healed"]]
        lines.append("| " + " | ".join(_cell(str(cell)) for cell in cells) + " |")
    return lines


def _leftovers(item: ItemResult) -> list[str]:
    kept = [change for data in item.data(r.ROLLBACK_DATA) for change in data]
    if not kept:
        return []
    lines = ["", f"### {item.scenario}: left behind after rolling back", ""]
    return lines + [
        f"- {c['machine']}: {c['section']} `{_cell(c['item'])}` {c['kind']}: {_cell(c['detail'])}" for c in kept
    ]


def _cell(text: str) -> str:
    """One table cell: no line breaks, no column bar."""
    return " ".join(text.split()).replace("|", "\\|")
