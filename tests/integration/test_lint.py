"""The lint scenario: no machine starts; each check trips on the line of tests/deployers/lint-wrong made wrong for
it, with its file, line and fix; declared findings are reported apart; the reference deployers raise no failing
finding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pytest_runs import REPO, TEST_DEPLOYERS, leftovers, run, run_id


def test_each_check_finds_its_line_with_the_fix() -> None:
    code, output = run("--deployer", "lint-wrong", "-m", "lint")
    assert code == 1, output
    expected = [
        "fail: image-latest: k8s/job.yaml:11: Job lint-wrong, container deploy: image "
        "`registry.example.com/infra/lint-wrong:latest` has the tag latest",
        "fail: curl-fail: k8s/job.yaml:16: `curl` without `-f`",  # the inline script, mapped to the manifest
        "fail: ssh-host-key: deploy.sh:4: host keys are not checked (`-o StrictHostKeyChecking=no`)",
        "fail: curl-fail: deploy.sh:5:",
        "fail: k8s-schema: k8s/objects.yaml:6: ConfigMap lint-wrong-settings: the object: Additional properties are "
        "not allowed ('dat' was unexpected)",
        "fail: shellcheck: scripts/loops.sh:5: SC2066: ",
        "warn: shellcheck-warning: scripts/loops.sh:6: SC2034: ",
        "fail: hadolint: Dockerfile:4: DL3000: Use absolute WORKDIR",
        "fail: base-image: Dockerfile:3: `FROM ${BASE}` (`debian`) has no tag",
        "fail: cron-name: configs/cron.d/lint-wrong.cron: cron skips /etc/cron.d/lint-wrong.cron",
        "fail: cron-newline: configs/cron.d/lint-wrong.cron:2: the last line has no newline",
        "fail: cron-user: configs/cron.d/lint-wrong-days:3: `*/5 * * * * /app/poll.sh`: the field after the "
        "schedule is `/app/poll.sh`, not a user name",
        "fail: cron-percent: configs/cron.d/lint-wrong-days:4: an unescaped `%` ends the command",
        "warn: cron-day-or: configs/cron.d/lint-wrong-days:2: `0 10 1-7 * 6` restricts both day-of-month and "
        "day-of-week, so cron runs it when EITHER matches",
    ]
    for line in expected:
        assert line in output, line
    assert "deploy.sh:6" not in output  # curl -f: right
    assert "image-digest" not in output  # `lint.severity` set it to ignore
    assert "lint: declared in lint.allow" in output and "declared: a check that is declared, with its reason" in output
    assert "fix: pin the host key: mount a known_hosts Secret" in output
    assert "k8s/objects.yaml: Kustomization lint-wrong (kustomize.toolkit.fluxcd.io/v1): no schema offline" in output
    assert "Secret lint-ssh" not in output  # SOPS-encrypted, and right without its `sops` block
    assert "DL3006" not in output and "DL3007" not in output  # the base is `base-image`'s, said once
    assert leftovers(run_id(output)) == []  # no machine, no network: nothing to leave


def test_sarif_and_github_annotations_carry_each_finding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(REPO))
    sarif_path = tmp_path / "lint.sarif"
    code, output = run("--deployer", "lint-wrong", "-m", "lint", "--deployer-sarif", str(sarif_path))
    assert code == 1, output
    sarif = json.loads(sarif_path.read_text())
    assert sarif["version"] == "2.1.0"
    (sarif_run,) = sarif["runs"]
    results = sarif_run["results"]
    rules = [rule["id"] for rule in sarif_run["tool"]["driver"]["rules"]]
    folder = TEST_DEPLOYERS.relative_to(REPO) / "lint-wrong"
    by_rule = {(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]): r for r in results}
    loops = by_rule[("shellcheck", f"{folder}/scripts/loops.sh")]
    assert loops["level"] == "error" and loops["locations"][0]["physicalLocation"]["region"] == {"startLine": 5}
    assert rules[loops["ruleIndex"]] == "shellcheck"
    assert by_rule[("shellcheck-warning", f"{folder}/scripts/loops.sh")]["level"] == "warning"
    declared = by_rule[("curl-fail", f"{folder}/scripts/declared.sh")]
    assert declared["suppressions"] == [
        {"kind": "external", "justification": "a check that is declared, with its reason"}
    ]
    assert "Fix: " in by_rule[("k8s-schema", f"{folder}/k8s/objects.yaml")]["message"]["text"]
    assert len(results) == 15  # 12 failing, 2 warnings, 1 declared: as the terminal counts them
    # GitHub's annotations: on the file and line, an error for what fails and a warning for what warns
    assert f"::error file={folder}/scripts/loops.sh,line=5,title=lint-wrong / lint::shellcheck: SC2066" in output
    assert f"::warning file={folder}/scripts/loops.sh,line=6," in output
    assert "declared.sh,line=" not in output  # declared: not marked


def test_the_reference_deployers_raise_no_failing_finding() -> None:
    code, output = run("--deployers-dir", str(REPO / "deployers"), "--deployer", "all", "-m", "lint", "-rA")
    assert code == 0, output
    # ansible-nut, node-configurator, nut-fleet, pve-exporter, pve-nut, pve-provisioner, seed-nut
    assert "7 passed" in output
    assert output.count(": 0 failing, ") == 7
    assert "declared: a node configurator" in output  # its host access, declared


def test_the_cron_files_a_deployer_writes_are_checked_where_cron_reads_them() -> None:
    """tests/deployers/cron-written writes five cron.d files on its machine: four that cron skips or misreads."""
    code, output = run("--deployer", "cron-written", "-m", "converge")
    assert code == 1, output
    assert "the cron.d files the deployer wrote: 4 finding(s) fail" in output
    expected = [
        "fail: cron-mode: web1:/etc/cron.d/cron-written: mode 664: its group or others may write it, so cron skips "
        "the file (INSECURE MODE)",
        "fail: cron-mode: web1:/etc/cron.d/cron-written-owner: owned by nobody: cron skips the file (WRONG FILE OWNER)",
        "fail: cron-name: web1:/etc/cron.d/cron-written.bak: cron skips /etc/cron.d/cron-written.bak",
        "fail: cron-user: web1:/etc/cron.d/cron-written-days:2: `*/5 * * * * /bin/true`",
        "warn: cron-day-or: web1:/etc/cron.d/cron-written-days:1: `0 10 1-7 * 6`",
    ]
    for line in expected:
        assert line in output, line
    assert "cron-written-ok:" not in output.split("each entry's next month")[0]  # right: no finding
    assert "e2scrub_all" not in output  # the image's own: not the deployer's
    assert leftovers(run_id(output)) == []
