"""The rollback suite, with the previous version taken from git as by default.

tests/deployers/_rb-image is a deployer whose version 2 adds a script and a cron entry. A repository of
the test's own gets version 1, then version 2, as two commits; rb-leftover (additive) leaves version 2's
additions behind when rolled back, rb-clean (prune) removes them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from pytest_runs import TEST_DEPLOYERS, Suite, leftovers, run, run_id, run_suite

FOLDERS = ["_rb-image", "rb-leftover", "rb-clean", "rb-allowed"]


def git(repository: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repository), "-c", "user.name=test", "-c", "user.email=test@example.org", *args],
        check=True,
        capture_output=True,
    )


def committed(repository: Path, versions: tuple[str, ...] = ("1", "2")) -> Path:
    """The rollback test deployers in a repository of their own, a commit per version of the image."""
    deployers = repository / "deployers"
    for folder in FOLDERS:
        shutil.copytree(TEST_DEPLOYERS / folder, deployers / folder)
    git(repository, "init", "-q")
    jobs = {folder: deployers / folder / "k8s" / "job.yaml" for folder in FOLDERS[1:]}
    current = {folder: job.read_text() for folder, job in jobs.items()}
    for version in versions:
        (deployers / "_rb-image" / "VERSION").write_text(f"{version}\n")
        for folder, job in jobs.items():  # version 1's manifest sets CHANNEL, which the stamp then shows
            marker = "            - {name: MODE, "
            job.write_text(
                current[folder].replace(marker, "            - {name: CHANNEL, value: stable}\n" + marker)
                if version == "1"
                else current[folder]
            )
        git(repository, "add", "-A")
        git(repository, "commit", "-q", "-m", f"rb version {version}")
    return deployers


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Suite:
    deployers = committed(tmp_path_factory.mktemp("rb-repo"))
    suite = run_suite(deployers.parent / "report.xml", "rollback", FOLDERS[1:], "--deployers-dir", str(deployers))
    assert suite.code == 1, suite.output  # rb-leftover is wrong on purpose
    return suite


def test_the_previous_version_comes_from_git(suite: Suite) -> None:
    for case in suite.cases.values():
        assert case["previous"][0].endswith("(rb version 1)"), case["previous"]
        assert case["apply1"][0].startswith("previous: Complete")
        assert case["apply2"][0].startswith("current: Complete")
        assert case["verify"] == ["2 passed"]


def test_what_the_current_version_left_behind_is_named(suite: Suite) -> None:
    case = suite.cases["rb-leftover"]
    assert case["outcome"] == ["failed"]
    kept = {(c["section"], c["item"], c["kind"], c["detail"]) for c in json.loads(case["rollback_data"][0])}
    assert ("file", "/opt/rb/bin/report.sh", "added", "file 755 root:root, 25 bytes") in kept
    assert ("cron", "/etc/cron.d/rb-report", "added", "0 6 * * * root /opt/rb/bin/report.sh") in kept
    assert ("file", "/etc/cron.d/rb-report", "added", "file 644 root:root, 37 bytes") in kept
    assert len(kept) == 3, kept  # nothing else: the scans of the whole host hold no noise
    assert "fail: leftover web1: file /opt/rb/bin/report.sh: added" in "\n".join(case["leftover"])
    patch = next(c["patch"] for c in json.loads(case["rollback_data"][0]) if c["item"] == "/opt/rb/bin/report.sh")
    assert "+echo rb report" in patch  # the left-behind script's content, in the report
    assert "rb-leftover / rollback: the rollback to the previous version is not clean: 3 leftovers" in suite.output


def test_a_clean_rollback_passes_and_its_stamp_says_previous(suite: Suite) -> None:
    # '1 stable': the previous image ran with the previous manifest (its CHANNEL), as a git revert deploys it
    case = suite.cases["rb-clean"]
    assert case["outcome"] == ["passed"], suite.output
    assert "leftover" not in case
    assert case["rollback"] == [
        "0 leftovers, 0 other differences; web1: /opt/rb/VERSION says '1 stable' (previous; the current wrote '2')"
    ]


def test_known_leftovers_the_spec_allows_warn_and_pass(suite: Suite) -> None:
    case = suite.cases["rb-allowed"]
    assert case["outcome"] == ["passed"], suite.output
    assert case["rollback"][0].startswith("0 leftovers, 0 other differences, 3 allowed by the spec;")
    assert sorted(case["leftover"]) == [
        "warn: allowed web1: cron /etc/cron.d/rb-report: added, 0 6 * * * root /opt/rb/bin/report.sh",
        "warn: allowed web1: file /etc/cron.d/rb-report: added, file 644 root:root, 37 bytes",
        "warn: allowed web1: file /opt/rb/bin/report.sh: added, file 755 root:root, 25 bytes",
    ]


def test_nothing_is_left_behind(suite: Suite) -> None:
    assert leftovers(suite.run) == []


def test_a_first_version_has_nothing_to_roll_back_to_and_is_skipped_with_the_reason(tmp_path: Path) -> None:
    deployers = committed(tmp_path, versions=("1",))
    code, output = run("--deployers-dir", str(deployers), "--deployer", "rb-clean", "-m", "rollback", "-rs")
    assert code == 0, output
    assert "1 skipped" in output
    assert "rb-clean: no previous version to roll back to" in output
    assert "git history holds no earlier version of deployers/_rb-image and deployers/rb-clean" in output
    assert leftovers(run_id(output)) == []
