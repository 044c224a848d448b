"""The HTML report from the JSON report's data: self-contained, escaped, and the grid the rows say."""

from __future__ import annotations

import json
import re

from test_reports import CHANGE, ROW, RUN, items

from harness.reports.html_report import html_report
from harness.reports.json_report import report_data

MISSED = {**ROW, "item": "/etc/<b>x</b>", "detected": "MISSED", "healed": "NO: mode 600", "failed": True,
          "is_detected": False, "is_named": None, "is_healed": False, "heal_seconds": None,
          "evidence": [{"title": "the drift check passed; its output", "text": "all <fine>"}]}  # fmt: skip


def page() -> str:
    data = report_data(RUN, items())
    data["items"][0]["drift"].append(MISSED)
    return html_report(data)


def test_the_page_needs_nothing_from_the_network_and_runs_no_script() -> None:
    text = page()
    assert "<script" not in text and "<link" not in text and "@import" not in text
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)
    assert "url(" not in text


def test_what_the_run_recorded_is_escaped() -> None:
    text = page()
    assert "<b>x</b>" not in text and "/etc/&lt;b&gt;x&lt;/b&gt;" in text
    assert "all &lt;fine&gt;" in text


def test_the_counts_and_verdicts_are_the_data_s() -> None:
    text = page()
    assert '<span class="count failed" data-outcome="failed"><b class="n">1</b> failed</span>' in text
    assert text.count('<tr class="item ') == 3
    assert '<tr class="item failed" data-scenario="idempotency">' in text


def test_the_drift_grid_colours_each_verdict_and_folds_a_failing_row_s_evidence() -> None:
    text = page()
    cells = re.findall(r'data-column="(\w+)" data-verdict="(\w+)"', text)
    assert cells == [("detected", "yes"), ("named", "yes"), ("healed", "yes"),
                     ("detected", "no"), ("named", "none"), ("healed", "no")]  # fmt: skip
    assert '<td class="num">4.1 s</td>' in text  # the time to heal
    assert text.count('<tr class="evidence">') == 1  # the passing row has none
    assert "<details><summary>evidence (detected: MISSED; healed: NO: mode 600)</summary>" in text
    assert "drift matrix, 2 mutations, 1 failing" in text


def test_the_timeline_draws_each_step_on_one_scale() -> None:
    text = page()
    bars = re.findall(r'<span class="bar" style="left:([\d.]+)%;width:([\d.]+)%"', text)
    assert bars == [("0.00", "3.75"), ("3.75", "96.25")]  # apply 3 s, then drift 77 s: 80 s fill the width


def test_diffs_are_highlighted_line_by_line_and_leftovers_listed() -> None:
    text = page()
    assert '<span class="del">-a</span><span class="add">+b</span>' in text
    assert "left behind after rolling back" in text
    assert text.count(json.dumps(CHANGE["item"])[1:-1]) >= 2  # in the diff and among the leftovers


def test_a_removed_line_that_starts_with_dashes_is_a_removal_not_a_file_header() -> None:
    data = report_data(RUN, items())
    change = {**CHANGE, "patch": "--- a/x\n+++ b/x\n@@ -1 +1 @@\n--option\n++option\n same"}
    data["items"][1]["diffs"] = [change]
    text = html_report(data)
    assert '<span class="file">--- a/x</span><span class="file">+++ b/x</span><span class="hunk">' in text
    assert '<span class="del">--option</span><span class="add">++option</span><span class="ctx"> same</span>' in text


def test_a_failed_item_s_failure_unfolds() -> None:
    text = page()
    assert text.count('<tr class="failure">') == 1  # the failed item's; the passed and skipped ones have none
    assert (
        "<details><summary>the failure, as the terminal shows it</summary><pre>pve-nut / idempotency: the second apply"
        in text
    )
