"""The secrets step on real machines: tests/deployers/secrets-wrong lets its secret show in each place it must not,
and each is a finding with masked evidence; pve-nut (and node-configurator, a DaemonSet) raise none; a finding a
deployer declares in `lint.allow` is reported, not counted."""

from __future__ import annotations

from pytest_runs import REPO, leftovers, run, run_id

TOKEN = "tok-7f3a9c2e51d8"


def test_each_place_a_secret_must_not_show_is_a_finding_with_its_evidence_masked() -> None:
    code, output = run("--deployer", "secrets-wrong", "-m", "converge")
    assert code == 1, output
    assert "secrets: 6 finding(s) fail" in output
    expected = [
        "fail: secret-in-command: web1:apply 1, command 1: a secret is on the command line of an ssh command",
        "fail: secret-in-log: apply 1: a secret is in the deployer's log (attempt 1, pod secrets-wrong-deploy-",
        "fail: secret-readable: web1:/etc/secrets-wrong/.env: holds a secret, and was readable by every local user "
        "for ",  # the window: `cat >`, then the next command's chmod 600
        "s: written by command 2 of apply 1, made private by command 3",
        "fail: secret-readable: web1:/etc/secrets-wrong/app.conf: holds a secret and has mode 644",
        "fail: secret-in-image: deployer-harness/deployer-secrets-wrong:",
        ": the image's history holds a secret",
        ": Dockerfile:5 COPY configs/token.env holds a secret",
        # the evidence, masked
        "web1:apply 1, command 1: mkdir -p /etc/secrets-wrong && test -n '********'",
        "apply 1: deploying with token ********",
        "|1 BUILD_TOKEN=******** /bin/sh -c echo",
    ]
    for line in expected:
        assert line in output, line
    assert TOKEN not in output
    assert leftovers(run_id(output)) == []


def test_the_reference_deployers_raise_none_and_a_declared_one_is_reported_not_counted() -> None:
    code, output = run(
        "--deployers-dir", str(REPO / "deployers"), "--deployer", "pve-nut", "--deployer", "node-configurator",
        "--deployer", "seed-nut", "-m", "converge", "-rA",
    )  # fmt: skip
    assert code == 0, output
    assert output.count("the converged files: 0 finding(s)") == 3, output
    assert "the converged files: 0 finding(s), 1 declared" in output  # seed-nut
    assert "pve1:/opt/seed-nut/.env: holds a secret, and was readable by every local user" in output
    assert "declared: the seed's `cat > .env` then `chmod 600`" in output
