"""``--deployer-html PATH``: the run as one self-contained page (no script, no font, nothing fetched when it is
opened). Per deployer: the verdicts, a timeline of each item's steps as bars, the drift matrix as a coloured grid
(mutation x detected, named, healed, with the time to heal; a failing row's evidence folded under it), the diffs
highlighted, and what a rollback left behind. Built from the JSON report's data, so the two always agree."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

from harness.reports.json_report import report_data
from harness.reports.results import ItemResult

STYLE = Path(__file__).with_name("report.css").read_text(encoding="utf-8")

_VERDICT = {True: ("yes", "yes"), False: ("no", "NO"), None: ("none", "n/a")}


def html_report(data: dict[str, Any]) -> str:
    run, items = data["run"], data["items"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>deployer-harness: run {escape(run['id'])}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<header><h1>deployer-harness: run <code>{escape(run['id'])}</code></h1>",
        f'<p class="engine">{escape(run["engine"])}</p>',
        *_images(run),
        _counts(data["counts"]),
        "</header>",
    ]
    for deployer in dict.fromkeys(item["deployer"] for item in items):
        parts += _deployer(deployer, [item for item in items if item["deployer"] == deployer])
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_html(path: Path, run: dict[str, Any], items: Sequence[ItemResult]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html_report(report_data(run, items)), encoding="utf-8")


def _images(run: dict[str, Any]) -> list[str]:
    return [
        f'<p class="image">image under test for <code>{escape(name)}</code>: <code>{escape(given["ref"])}</code> = '
        f"<code>{escape(given['id'])}</code></p>"
        for name, given in sorted(run.get("images", {}).items())
    ]


def _counts(counts: dict[str, int]) -> str:
    badges = [
        f'<span class="count {escape(outcome)}" data-outcome="{escape(outcome)}">'
        f'<b class="n">{number}</b> {escape(outcome)}</span>'
        for outcome, number in sorted(counts.items())
    ]
    return f'<p class="counts">{"".join(badges)}</p>'


def _deployer(name: str, items: list[dict[str, Any]]) -> list[str]:
    parts = [f'<section class="deployer" data-deployer="{escape(name)}"><h2>{escape(name)}</h2>']
    parts += _verdicts(items) + _timeline(items)
    for item in items:
        parts += _item(item)
    return [*parts, "</section>"]


def _verdicts(items: list[dict[str, Any]]) -> list[str]:
    rows = []
    for item in items:
        rows.append(
            f'<tr class="item {escape(item["outcome"])}" data-scenario="{escape(item["scenario"])}">'
            f"<td>{escape(item['scenario'])}</td>"
            f'<td class="outcome">{escape(item["outcome"])}</td><td class="num">{item["seconds"]:.1f} s</td>'
            f"<td>{escape(item['message'])}</td></tr>"
        )
        if item["failure"]:  # its evidence in full: the deployer's log, the diff, the pods' logs
            rows.append(
                f'<tr class="failure"><td colspan="4"><details><summary>the failure, as the terminal shows it</summary>'
                f"<pre>{escape(item['failure'])}</pre></details></td></tr>"
            )
    head = "<tr><th>scenario</th><th>verdict</th><th>time</th><th>detail</th></tr>"
    return ['<table class="verdicts">', head, *rows, "</table>"]


def _timeline(items: list[dict[str, Any]]) -> list[str]:
    """Each item's steps as bars on one scale: the longest item fills the width."""
    timed = [item for item in items if item["steps"]]
    if not timed:
        return []
    span = max(step["start"] + step["seconds"] for item in timed for step in item["steps"]) or 1.0
    parts = ['<div class="timeline"><h3>steps</h3>']
    for item in timed:
        bars = []
        for step in item["steps"]:
            left, width = 100 * step["start"] / span, max(100 * step["seconds"] / span, 0.3)
            label = f"{step['step']} {step['seconds']:.1f} s"
            failed = " failed" if step["failed"] else ""
            bars.append(
                f'<span class="bar{failed}" style="left:{left:.2f}%;width:{width:.2f}%" title="{escape(label)}"'
                f' data-step="{escape(step["step"])}" data-seconds="{step["seconds"]}">{escape(label)}</span>'
            )
        parts.append(
            f'<div class="lane"><span class="who">{escape(item["scenario"])}</span>'
            f'<span class="track">{"".join(bars)}</span></div>'
        )
    return [*parts, "</div>"]


def _item(item: dict[str, Any]) -> list[str]:
    parts: list[str] = []
    if item["findings"]:
        parts += [f"<h3>{escape(item['scenario'])}: findings</h3>", '<ul class="findings">']
        parts += [f"<li>{escape(finding)}</li>" for finding in item["findings"]]
        parts.append("</ul>")
    if item["drift"]:
        parts += _drift(item)
    if item["diffs"]:
        parts += [f"<h3>{escape(item['scenario'])}: what changed</h3>", *_changes(item["diffs"], "diff")]
    if item["rollback_leftovers"]:
        parts += [f"<h3>{escape(item['scenario'])}: left behind after rolling back</h3>"]
        parts += _changes(item["rollback_leftovers"], "leftovers")
    return parts


def _drift(item: dict[str, Any]) -> list[str]:
    rows = item["drift"]
    failing = sum(row["failed"] for row in rows)
    parts = [
        f"<h3>{escape(item['scenario'])}: drift matrix, {len(rows)} mutations, {failing} failing</h3>",
        f'<table class="drift-grid" data-nodeid="{escape(item["nodeid"])}">',
        "<tr><th>machine</th><th>mutation</th><th>item</th><th>detected</th><th>named</th><th>healed</th>"
        "<th>time to heal</th></tr>",
    ]
    for row in rows:
        seconds = "" if row["heal_seconds"] is None else f"{row['heal_seconds']:.1f} s"
        cells = "".join(
            f'<td class="cell {_VERDICT[row[key]][0]}" data-column="{column}" data-verdict="{_VERDICT[row[key]][0]}"'
            f' title="{escape(row[title])}">{_VERDICT[row[key]][1]}</td>'
            for key, column, title in (
                ("is_detected", "detected", "detected"),
                ("is_named", "named", "detected"),
                ("is_healed", "healed", "healed"),
            )
        )
        detail = f" <small>({escape(row['detail'])})</small>" if row["detail"] else ""
        parts.append(
            f'<tr class="drift-row{" failed" if row["failed"] else ""}" data-failed="{str(row["failed"]).lower()}">'
            f"<td>{escape(row['machine'])}</td><td>{escape(row['mutation'])}</td>"
            f"<td><code>{escape(row['item'])}</code>{detail}</td>{cells}"
            f'<td class="num">{seconds}</td></tr>'
        )
        if row["evidence"]:
            parts.append(f'<tr class="evidence"><td colspan="7">{_evidence(row)}</td></tr>')
    return [*parts, "</table>"]


def _evidence(row: dict[str, Any]) -> str:
    pieces = "".join(
        f'<p class="title">{escape(piece["title"])}</p><pre>{escape(piece["text"])}</pre>' for piece in row["evidence"]
    )
    why = f"detected: {row['detected']}; healed: {row['healed']}"
    return f"<details><summary>evidence ({escape(why)})</summary>{pieces}</details>"


def _changes(changes: list[dict[str, Any]], kind: str) -> list[str]:
    parts = [f'<div class="changes {kind}">']
    for change in changes:
        finding = " finding" if change.get("finding") else ""
        head = (
            f"{escape(change['machine'])}: {escape(change['section'])} <code>{escape(change['item'])}</code> "
            f"{escape(change['kind'])}: {escape(change['detail'])}"
        )
        patch = str(change.get("patch", ""))
        if patch:
            parts.append(f'<details class="change{finding}" open><summary>{head}</summary>{_patch(patch)}</details>')
        else:
            parts.append(f'<p class="change{finding}">{head}</p>')
    return [*parts, "</div>"]


def _patch(patch: str) -> str:
    """A unified diff, each line coloured by what it is (a block each: no newline between them)."""
    spans, in_hunk = [], False
    for line in patch.splitlines():
        in_hunk = in_hunk or line.startswith("@@")
        spans.append(f'<span class="{_line_kind(line, in_hunk)}">{escape(line)}</span>')
    return f'<pre class="patch">{"".join(spans)}</pre>'


def _line_kind(line: str, in_hunk: bool) -> str:
    """Before the first hunk, `---` and `+++` name the files; in a hunk, the first character says it all (a
    removed line may start with `--`)."""
    if line.startswith("@@"):
        return "hunk"
    if not in_hunk and line.startswith(("---", "+++")):
        return "file"
    return {"+": "add", "-": "del"}.get(line[:1], "ctx")
