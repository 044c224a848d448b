"""What a CI gate needs: `--image NAME=REF` tests the image a CI job is about to push, by its ID, from the local
engine or a `docker save` archive (a wrong REF or NAME is a usage error said once); `build.args`; the JSON report
and the job's step summary."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
from pytest_runs import REPO, TEST_DEPLOYERS, junit_cases, leftovers, run, run_id

from harness.engine.labels import CACHE
from harness.reports.json_report import SCHEMA_FILE
from harness.workbench import Workbench

TAG = "deployer-harness-test/hello-given:ci"


@pytest.fixture(scope="module")
def given(bench: Workbench, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """hello's image as a CI job would build it: from a context the harness never built (a comment differs)."""
    bench.builder.ensure("deployer-base")
    context = tmp_path_factory.mktemp("given") / "hello"
    shutil.copytree(TEST_DEPLOYERS / "hello", context)
    script = context / "deploy.sh"
    script.write_text(script.read_text() + "\n# built by the CI job, not by the harness\n")
    image, _ = bench.client.images.build(path=str(context), tag=TAG, labels={CACHE: "true"}, rm=True)
    yield str(image.id)
    bench.client.images.remove(TAG, force=True)


def test_a_given_image_is_tested_and_named_by_its_id(given: str, tmp_path: Path) -> None:
    report = tmp_path / "report.xml"
    code, output = run("--deployer", "hello", "--image", f"hello={TAG}", "-m", "converge", f"--junitxml={report}")
    assert code == 0, output
    assert f"image under test for hello: {TAG} = {given}" in output  # the header
    assert junit_cases(report)["hello"]["image"] == [f"current: {given}"]
    assert leftovers(run_id(output)) == []


def test_a_docker_save_archive_is_loaded_and_tested(given: str, bench: Workbench, tmp_path: Path) -> None:
    archive = tmp_path / "hello.tar"
    with archive.open("wb") as out:
        for chunk in bench.client.images.get(TAG).save(named=True):
            out.write(chunk)
    report = tmp_path / "report.xml"
    ref = f"docker-archive:{archive}"
    code, output = run("--deployer", "hello", "--image", f"hello={ref}", "-m", "converge", f"--junitxml={report}")
    assert code == 0, output
    assert junit_cases(report)["hello"]["image"] == [f"current: {given}"]


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        ("hello=deployer-harness-test/absent:1", "--image: the engine has no image 'deployer-harness-test/absent:1'"),
        ("other=deployer-harness-test/absent:1", "--image names deployer 'other', which this run does not test"),
        ("hello", "--image 'hello' is not NAME=REF"),
        ("hello=docker-archive:/nonexistent.tar", "--image: cannot read the archive /nonexistent.tar"),
    ],
)
def test_a_wrong_image_option_is_a_usage_error_with_the_fix(option: str, expected: str) -> None:
    code, output = run("--deployer", "hello", "--image", option, "-m", "converge")
    assert code == 4, output
    assert output.count(expected) == 1, output
    assert "fix: " in output and "Traceback" not in output


def test_build_args_reach_the_build_and_the_cache_key(bench: Workbench, tmp_path: Path) -> None:
    """`build.args` in harness.yaml: a base chosen at build time, a mirror for an air-gapped build."""
    (tmp_path / "Dockerfile").write_text(
        'FROM deployer-harness/deployer-base:bookworm\nARG CHANNEL=unset\nRUN echo "$CHANNEL" > /channel\n'
    )
    stable = bench.build_deployer("args-test", tmp_path, "Dockerfile", build_args={"CHANNEL": "stable"})
    edge = bench.build_deployer("args-test", tmp_path, "Dockerfile", build_args={"CHANNEL": "edge"})
    assert stable != edge  # another argument is another image
    try:
        for tag, channel in ((stable, b"stable\n"), (edge, b"edge\n")):
            assert bench.client.containers.run(tag, ["cat", "/channel"], remove=True) == channel
    finally:
        for tag in (stable, edge):
            bench.client.images.remove(tag, force=True)


def test_the_run_writes_its_json_report_and_the_ci_step_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The JSON report in its schema, and the step summary GitHub shows, from a real run with a pass and a fail."""
    target, summary = tmp_path / "results.json", tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    code, output = run(
        "--deployer", "hello", "--deployer", "failing", "-m", "converge or idempotency", "-n", "2",
        f"--deployer-json={target}",
    )  # fmt: skip
    assert code == 1, output
    data = json.loads(target.read_text())
    jsonschema.validate(data, json.loads(SCHEMA_FILE.read_text()))
    assert data["counts"] == {"passed": 2, "failed": 2}
    verdicts = {(item["deployer"], item["scenario"]): item["outcome"] for item in data["items"]}
    assert verdicts == {
        ("hello", "converge"): "passed",
        ("hello", "idempotency"): "passed",
        ("failing", "converge"): "failed",
        ("failing", "idempotency"): "failed",
    }
    failed = next(item for item in data["items"] if item["deployer"] == "failing")
    assert failed["message"].startswith("failing / ") and "tok-f41l1ng-s3cr3t" not in target.read_text()
    assert failed["message"] in failed["failure"] and len(failed["failure"]) > len(failed["message"])  # in full
    text = summary.read_text()
    assert "## `hello`" in text and "## `failing`" in text and "| converge | ❌ failed |" in text
    assert "tok-f41l1ng-s3cr3t" not in text  # the failing deployer prints its Secret: masked everywhere
    # each failure marked on its spec in the pull request's files
    assert "::error file=tests/deployers/failing/harness.yaml,title=failing / converge::failing / converge" in output


def test_bad_input_is_marked_on_its_file_and_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "deployers"
    shutil.copytree(TEST_DEPLOYERS / "hello", root / "hello")
    spec = root / "hello" / "harness.yaml"
    spec.write_text(spec.read_text().replace("machines:", "machines: [\n"))
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    code, output = run("--deployer", "hello", "--deployers-dir", str(root))
    assert code == 4, output
    assert f"::error file={spec},line=" in output and "title=deployer-harness%3A bad input::" in output


def doctor(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", "doctor", "--repo", str(REPO)],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )


def test_doctor_says_what_this_computer_allows_one_line_each() -> None:
    done = doctor()
    assert done.returncode == 0, done.stdout + done.stderr
    names = [line.split()[1].rstrip(":") for line in done.stdout.splitlines() if not line.startswith(" ")]
    assert names == ["engine", "cgroup", "apparmor", "privileged", "disk", "inotify", "git", "kind", "debootstrap"]
    assert "machines fit" in done.stdout


def test_doctor_fails_with_the_fix_when_no_engine_answers() -> None:
    done = doctor(DOCKER_HOST="unix:///nonexistent/docker.sock")
    assert done.returncode == 1
    assert done.stdout.startswith("fail  engine: no Docker engine answers at unix:///nonexistent/docker.sock")
    assert "      fix: start one with `make engine`" in done.stdout


def test_a_spec_written_by_init_passes_once_its_blanks_are_filled(tmp_path: Path) -> None:
    """hello without its harness.yaml: `init` writes one from the manifest; with the Secret's key it names as left
    to fill in given a value, the gate's converge finds hello's token on its ssh command line, and passes once the
    spec declares that, with its reason."""
    root = tmp_path / "deployers"
    shutil.copytree(TEST_DEPLOYERS / "hello", root / "hello", ignore=shutil.ignore_patterns("harness.yaml"))
    made = subprocess.run(
        [sys.executable, "-m", "harness.cli", "init", "hello", "--manifest", str(root / "hello" / "k8s" / "job.yaml"),
         "--deployers-dir", str(root)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert "to fill in: secrets.hello-secrets: every key the pod takes from it" in made.stdout
    spec = root / "hello" / "harness.yaml"
    spec.write_text(spec.read_text().replace("hello-secrets: {}", "hello-secrets: {HELLO_TOKEN: t0ken-for-tests}"))
    code, output = run("--deployer", "hello", "--deployers-dir", str(root), "-m", "converge")
    assert code == 1 and "fail: secret-in-command: target-host:apply 1, command 1" in output, output
    declared = '{check: secret-in-command, reason: "hello hands its token to the host on its command line"}'
    spec.write_text(spec.read_text() + f"lint:\n  allow:\n    - {declared}\n")
    code, output = run("--deployer", "hello", "--deployers-dir", str(root), "-m", "converge")
    assert code == 0, output
