"""The gitops scenario on a real git repository (made here, commit by commit, with fixed dates): the tags the
workflow's docker/metadata-action makes from each commit, the pick of each policy after each commit, and the
findings, each with its file and line. No machine, no engine."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from pytest_runs import TEST_DEPLOYERS, run

WORKFLOW = """\
name: build
on: {push: {branches: [main]}}
jobs:
  image:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - id: meta
        uses: docker/metadata-action@v5
        with:
          images: registry.example.com/infra/gitops-wrong
          tags: |
            type=sha
            type=semver,pattern={{version}}
"""


def git(repo: Path, *args: str, when: int = 0) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "dev",
        "GIT_AUTHOR_EMAIL": "dev@example.org",
        "GIT_COMMITTER_NAME": "dev",
        "GIT_COMMITTER_EMAIL": "dev@example.org",
        "GIT_AUTHOR_DATE": f"{1_790_000_000 + when} +0000",
        "GIT_COMMITTER_DATE": f"{1_790_000_000 + when} +0000",
    }
    return subprocess.run(["git", "-C", str(repo), *args], env=env, check=True, capture_output=True, text=True).stdout


def make_repository(root: Path) -> list[str]:
    """Both deployers in a repository of their own, committed until a commit's short SHA sorts below an earlier
    one's (what alphabetical order gets wrong); returns the short SHAs, oldest first."""
    for name in ("gitops-wrong", "gitops-good"):
        shutil.copytree(TEST_DEPLOYERS / name, root / "tests" / "deployers" / name)
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".github" / "workflows" / "build.yml").write_text(WORKFLOW)
    git(root, "init", "-q", "-b", "main")
    shas: list[str] = []
    for number in range(1, 30):
        for name in ("gitops-wrong", "gitops-good"):
            (root / "tests" / "deployers" / name / "VERSION").write_text(f"{number}\n")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", f"change {number}", when=number * 3600)
        shas.append(git(root, "rev-parse", "--short=7", "HEAD").strip())
        if len(shas) >= 3 and shas[-1] < max(shas[:-1]):
            return shas
    raise AssertionError(f"no commit sorted below an earlier one: {shas}")


def test_alphabetical_over_shas_picks_an_older_build_and_sortable_tags_do_not(tmp_path: Path) -> None:
    shas = make_repository(tmp_path)
    code, output = run(
        "--deployers-dir", str(tmp_path / "tests" / "deployers"), "--deployer", "all", "-m", "gitops", "-rA"
    )
    assert code == 1, output
    first = next(i for i, sha in enumerate(shas) if i and sha < max(shas[:i]))
    older = max(shas[:first])
    assert (
        "fail: gitops-pick: flux/automation.yaml:8: the policy flux-system:gitops-wrong (alphabetical) picks an "
        "older build than the newest at " in output
    ), output
    assert f"after {shas[first]} ('change {first + 1}') it picks sha-{older}, built from the older {older}" in output
    assert (
        "fail: gitops-marker: k8s/job.yaml:12: the setter marker names the image policy flux-system:gitops-wrongg"
        in output
    )
    assert "fail: gitops-force: flux/automation.yaml:29: Kustomization flux-system:gitops-wrong applies Job" in output
    assert "warn: gitops-ttl: flux/automation.yaml:29:" in output
    assert "type=semver,pattern={{version}}" in output  # said: not simulated
    # the sortable one: each commit's own build, every time
    for number, sha in enumerate(shas, 1):
        assert f"'change {number}': tags ['main-{sha}-{1_790_000_000 + number * 3600}'] -> main-{sha}-" in output
    assert "1 Kustomization(s): 0 failing, 0 warning(s)" in output  # gitops-good
    assert "1 failed, 1 passed" in output
