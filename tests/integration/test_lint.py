"""The lint scenario: no machine starts; each check trips on the line of tests/deployers/lint-wrong made wrong for
it, with its file, line and fix; declared findings are reported apart; the reference deployers raise no failing
finding."""

from __future__ import annotations

from pytest_runs import REPO, leftovers, run, run_id


def test_each_check_finds_its_line_with_the_fix() -> None:
    code, output = run("--deployer", "lint-wrong", "-m", "lint")
    assert code == 1, output
    expected = [
        "fail: image-latest: k8s/job.yaml:11: Job lint-wrong, container deploy: image "
        "`registry.example.com/infra/lint-wrong:latest` has the tag latest",
        "fail: curl-fail: k8s/job.yaml:16: `curl` without `-f`",  # the inline script, mapped to the manifest
        "fail: ssh-host-key: deploy.sh:4: host keys are not checked (`-o StrictHostKeyChecking=no`)",
        "fail: curl-fail: deploy.sh:5:",
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
    assert leftovers(run_id(output)) == []  # no machine, no network: nothing to leave


def test_the_reference_deployers_raise_no_failing_finding() -> None:
    code, output = run("--deployers-dir", str(REPO / "deployers"), "--deployer", "all", "-m", "lint", "-rA")
    assert code == 0, output
    assert "4 passed" in output  # node-configurator, pve-exporter, pve-nut, seed-nut
    assert output.count(": 0 failing, ") == 4
    assert "declared: a node configurator" in output  # its host access, declared
