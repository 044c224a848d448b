"""`pytest --deployer all` on deployers/: every reference deployer passes its gate (the scenarios that concern it),
on two workers. What each must show beyond passing is checked here too: ansible-nut's idempotency is judged by
the host's state, nut-fleet's host-down scenario reports every host."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from pytest_runs import REPO, leftovers, run, run_id

Cases = dict[tuple[str, str], dict[str, list[str]]]  # (deployer, scenario) -> property -> values, and "outcome"


@pytest.fixture(scope="module")
def gate(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, Cases]:
    report = tmp_path_factory.mktemp("reference") / "report.xml"
    code, output = run(
        "--deployers-dir", str(REPO / "deployers"), "--deployer", "all", "-m", "not drift", "-n", "2",
        f"--junitxml={report}",
    )  # fmt: skip
    return code, output, _cases(report)


def _cases(report: Path) -> Cases:
    cases: Cases = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        outcome = "failed" if case.find("failure") is not None or case.find("error") is not None else "passed"
        outcome = "skipped" if case.find("skipped") is not None else outcome
        properties: dict[str, list[str]] = {"outcome": [outcome]}
        for prop in case.iter("property"):
            properties.setdefault(prop.get("name", ""), []).append(prop.get("value", ""))
        cases[(Path(case.get("file", "")).parent.name, case.get("name", ""))] = properties
    return cases


def test_every_reference_deployer_passes_its_gate(gate: tuple[int, str, Cases]) -> None:
    code, output, cases = gate
    assert code == 0, output
    deployers = {deployer for deployer, _ in cases}
    assert {"pve-nut", "seed-nut", "ansible-nut", "nut-fleet", "node-configurator", "pve-exporter"} <= deployers
    assert all(case["outcome"] != ["failed"] for case in cases.values())
    assert leftovers(run_id(output)) == []


def test_ansible_nut_is_idempotent_by_the_hosts_state(gate: tuple[int, str, Cases]) -> None:
    _, _, cases = gate
    case = cases[("ansible-nut", "idempotency")]
    assert case["outcome"] == ["passed"]
    assert case["diff"] == ["no change"]


def test_nut_fleet_configures_the_other_hosts_with_one_down_and_fails_its_job(gate: tuple[int, str, Cases]) -> None:
    _, _, cases = gate
    case = cases[("nut-fleet", "host-down")]
    assert case["outcome"] == ["passed"]
    assert case["host_down"] == ["pve1: unreached, left as it was", "pve2: converged", "pve3: converged"]
    assert case["apply_failed"][0].startswith("apply 1 failed, as it must")
    assert "finding" not in case
