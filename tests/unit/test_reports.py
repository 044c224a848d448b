"""The run's reports from item results: JSON in the documented schema, and the step summary's Markdown."""

from __future__ import annotations

import json

import jsonschema

from harness.checks.report import ScenarioLog, mask_property, quoted_tail
from harness.reports.json_report import SCHEMA_FILE, report_data
from harness.reports.results import ItemResult, shortened
from harness.reports.step_summary import step_summary
from harness.state.diff import masker

RUN = {"id": "abc123", "engine": "docker 20.10, cgroup v2", "deployers": ["pve-nut"], "images": {}}
CHANGE = {"machine": "pve1", "section": "file", "item": "/etc/nut/ups.conf", "kind": "content", "detail": "2 lines",
          "patch": "-a\n+b", "finding": False}  # fmt: skip
ROW = {"machine": "pve1", "mutation": "edit", "item": "/etc/nut/ups.conf", "detail": "", "detected": "yes",
       "healed": "yes (4.1 s)", "failed": False, "is_detected": True, "is_named": True, "is_healed": True,
       "heal_seconds": 4.1, "evidence": []}  # fmt: skip
STEPS = [{"step": "apply", "start": 0.0, "seconds": 3.0, "failed": False},
         {"step": "drift", "start": 3.0, "seconds": 77.0, "failed": False}]  # fmt: skip


def items() -> list[ItemResult]:
    drift = ItemResult("deployers/pve-nut/harness.yaml::drift", "pve-nut", "drift", "passed", 80.5)
    drift.properties = [
        ("scenario", "drift"),
        ("drift_data", json.dumps([ROW])),
        ("timing", "apply 3.0 s, drift 77.0 s"),
        ("steps_data", json.dumps(STEPS)),
    ]
    idem = ItemResult("deployers/pve-nut/harness.yaml::idempotency", "pve-nut", "idempotency", "failed", 12.0)
    idem.message = "pve-nut / idempotency: the second apply changed the host"
    idem.failure = idem.message + "\n  ~ pve1: file /etc/nut/ups.conf | content: 2 lines"
    idem.properties = [("scenario", "idempotency"), ("diff_data", json.dumps([CHANGE])), ("finding", "warn: x")]
    rollback = ItemResult("deployers/pve-nut/harness.yaml::rollback", "pve-nut", "rollback", "skipped", 0.1)
    rollback.message = "no previous version | to roll back to"
    rollback.properties = [("scenario", "rollback"), ("rollback_data", json.dumps([CHANGE]))]
    return [drift, idem, rollback]


def test_the_json_report_follows_its_schema_and_carries_every_piece_as_data() -> None:
    data = report_data(RUN, items())
    jsonschema.validate(data, json.loads(SCHEMA_FILE.read_text()))
    assert data["counts"] == {"passed": 1, "failed": 1, "skipped": 1}
    drift, idem, rollback = data["items"]
    assert drift["drift"] == [ROW] and drift["timing"] == "apply 3.0 s, drift 77.0 s" and drift["steps"] == STEPS
    assert idem["steps"] == [] and idem["failure"].endswith("content: 2 lines") and drift["failure"] == ""
    assert idem["diffs"] == [CHANGE] and idem["findings"] == ["warn: x"] and idem["message"].startswith("pve-nut")
    assert rollback["rollback_leftovers"] == [CHANGE] and rollback["drift"] is None
    assert all(name != "scenario" for name, _ in idem["properties"])  # data properties are not repeated as text


def test_the_step_summary_shows_verdicts_diffs_the_drift_matrix_and_leftovers() -> None:
    text = step_summary(RUN, items())
    assert "## `pve-nut`" in text
    assert "| idempotency | ❌ failed | 12.0 s | pve-nut / idempotency: the second apply changed the host |" in text
    assert "<details><summary>idempotency: 1 change(s) and finding(s)</summary>" in text
    assert "~ pve1: file /etc/nut/ups.conf | content: 2 lines" in text and "  +b" in text
    assert "| pve1 | edit | /etc/nut/ups.conf | yes | yes (4.1 s) |" in text
    assert "left behind after rolling back" in text
    assert "<details><summary>idempotency: the failure</summary>" in text and "content: 2 lines\n```" in text
    assert "no previous version \\| to roll back to" in text  # a bar never breaks the table


def test_data_properties_are_masked_value_by_value() -> None:
    """A secret that JSON escapes is found, and a secret such as `false` leaves the JSON whole."""
    log = ScenarioLog(mask=masker(["false", 'pa"ss\\word']))
    rows = [{**ROW, "item": 'x pa"ss\\word y', "failed": False}]
    log.record("drift_data", json.dumps(rows))
    log.record("finding", "a finding that says false")
    data = json.loads(log.properties[0][1])
    assert data[0]["item"] == "x ******** y" and data[0]["failed"] is False
    assert log.properties[1] == ("finding", "a finding that says ********")
    assert mask_property("drift_data", 'not json, pa"ss\\word', masker(['pa"ss\\word'])) == "not json, ********"


def test_a_tail_is_quoted_and_counted() -> None:
    assert quoted_tail("a\nb\nc\n", 2) == (["    | b", "    | c"], 3)
    assert quoted_tail("", 5) == (["    | (nothing)"], 0)


def test_a_long_failure_keeps_its_start_and_its_end() -> None:
    text = "verdict\n" + "x" * 100 + "\nlast line of the log"
    short = shortened(text, 50)
    assert short.startswith("verdict") and short.endswith("last line of the log") and "characters cut here" in short
    assert shortened("short", 50) == "short"


def test_the_summary_fences_a_failure_that_holds_backticks() -> None:
    item = ItemResult("x::converge", "x", "converge", "failed", 1.0, "x / converge: failed")
    item.failure = "x / converge: failed\n````\nnot a fence"
    text = step_summary(RUN, [item])
    assert "\n`````\nx / converge: failed\n````\nnot a fence\n`````\n" in text
