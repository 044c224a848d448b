"""One host of a fleet down (the host-down scenario), on nut-fleet made wrong on purpose two ways: a Job that
exits 0 whatever happened (`|| true`), and one that stops at the first host that fails (`set -e`). The reference
nut-fleet's own run is in test_reference_deployers.py."""

from __future__ import annotations

import pytest
from pytest_runs import Suite, leftovers, run_suite


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Suite:
    report = tmp_path_factory.mktemp("fleet") / "report.xml"
    suite = run_suite(report, "host-down", ["nut-fleet-lies", "nut-fleet-stops"])
    assert suite.code == 1, suite.output  # the liar fails
    return suite


def test_a_job_that_exits_0_with_a_host_unreached_fails_and_the_others_are_reported(suite: Suite) -> None:
    case = suite.cases["nut-fleet-lies"]
    assert case["outcome"] == ["failed"]
    assert case["host_down"] == ["pve1: unreached, left as it was", "pve2: converged", "pve3: converged"]
    assert "apply 1 reported success although a fault struck (stop-sshd on pve1)" in suite.output
    assert "apply_failed" not in case


def test_a_job_that_stops_at_the_first_host_down_says_so_and_the_hosts_after_it_are_named(suite: Suite) -> None:
    case = suite.cases["nut-fleet-stops"]
    assert case["outcome"] == ["passed"]  # its exit code told the truth
    assert case["apply_failed"][0].startswith("apply 1 failed, as it must")
    down, *others = case["host_down"]
    assert down == "pve1: unreached, left as it was"
    assert [line.split(":")[0] for line in others] == ["pve2", "pve3"]
    assert all("not converged: the apply once pve1 was back still changed" in line for line in others)
    assert any("/etc/nut/upsd.users" in line for line in others)
    (finding,) = case["finding"]
    assert finding.startswith("warn: host-down: pve2, pve3 of 2 reachable host(s) not configured while pve1 was down")
    assert "fleet-admin-pw-5e0c" not in suite.junit  # secrets masked in what the report shows
    assert leftovers(suite.run) == []
