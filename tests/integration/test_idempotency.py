"""The idempotency suite against deployers that are wrong on purpose (tests/deployers/idem-*).

One pytest run with two workers: the verdicts must reach JUnit XML through xdist.
"""

from __future__ import annotations

import json

import pytest
from pytest_runs import Suite, leftovers, run_suite

DEPLOYERS = [
    "idem-correct", "idem-append", "idem-timestamp", "idem-chmod", "idem-restart", "idem-rewrite",
    "ansible-nut-appends",
]  # fmt: skip


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Suite:
    suite = run_suite(tmp_path_factory.mktemp("idempotency") / "report.xml", "idempotency", DEPLOYERS)
    assert suite.code == 1, suite.output  # some are wrong on purpose
    return suite


def changes(properties: dict[str, list[str]]) -> set[tuple[str, str, str]]:
    return {(c["section"], c["item"], c["kind"]) for c in json.loads(properties["diff_data"][0])}


def test_every_deployer_gets_a_verdict_in_junit(suite: Suite) -> None:
    cases = suite.cases
    assert sorted(cases) == sorted(DEPLOYERS)


def test_a_correct_deployer_passes_without_findings(suite: Suite) -> None:
    cases = suite.cases
    correct = cases["idem-correct"]
    assert correct["outcome"] == ["passed"]
    assert correct["diff"] == ["no change"]
    assert "finding" not in correct
    assert correct["verify"] == ["2 passed"]


@pytest.mark.parametrize(
    ("deployer", "expected"),
    [
        ("idem-append", ("file", "/root/.profile", "content")),
        ("idem-timestamp", ("file", "/etc/idem/app.conf", "content")),
        ("idem-chmod", ("file", "/etc/idem/app.conf", "metadata")),
        ("idem-restart", ("unit", "idem.service", "restarted")),
        ("ansible-nut-appends", ("file", "/etc/environment", "content")),  # Ansible said changed=0
    ],
)
def test_each_flaw_fails_with_its_item_named(suite: Suite, deployer: str, expected: tuple[str, str, str]) -> None:
    output, cases = suite.output, suite.cases
    case = cases[deployer]
    assert case["outcome"] == ["failed"]
    assert changes(case) == {expected}, case["diff"]
    assert f"{expected[0]} {expected[1]}" in case["diff"][0]
    what = "side effects the spec fails on" if expected[2] == "restarted" else "the state changed"
    assert f"{deployer} / idempotency: {what} between snapshot 1 and snapshot 2" in output


def test_the_diff_shows_what_changed_with_secrets_masked(
    suite: Suite,
) -> None:
    output, cases = suite.output, suite.cases
    [data] = json.loads(cases["idem-timestamp"]["diff_data"][0])
    assert "-generated = " in data["patch"] and "+generated = " in data["patch"]
    assert "token = ********" in data["patch"]
    assert "idem-secret-token-7d3e" not in output
    assert "idem-secret-token-7d3e" not in suite.junit  # diff, diff_data, findings, logs: nowhere
    assert "mode 640 -> 644" in cases["idem-chmod"]["diff"][0]


def test_findings_warn_by_default_and_fail_when_the_spec_says(
    suite: Suite,
) -> None:
    output, cases = suite.output, suite.cases
    rewrite = cases["idem-rewrite"]
    assert rewrite["outcome"] == ["passed"]  # same content, new mtime: a warning
    assert changes(rewrite) == {
        ("file", path, "rewritten") for path in ("/etc/idem/app.conf", "/etc/idem/.env", "/etc/cron.d/idem")
    }
    assert any(f.startswith("warn: web1: file /etc/idem/app.conf: rewritten") for f in rewrite["finding"])
    assert cases["idem-restart"]["finding"][0].startswith("fail: web1: unit idem.service: restarted")
    # the terminal summary lists the findings too
    assert "warn: web1: file /etc/idem/.env: rewritten" in output


def test_nothing_is_left_behind(suite: Suite) -> None:
    assert leftovers(suite.run) == []
