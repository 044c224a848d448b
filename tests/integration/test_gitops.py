"""The gitops scenario on a real git repository (made here, commit by commit, with fixed dates): the tags the
workflow's docker/metadata-action makes from each commit, the pick of each policy after each commit, and the
findings, each with its file and line. No machine, no engine."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from pytest_runs import TEST_DEPLOYERS, junit_cases, run

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
    return commit_until_unsorted(root, ("gitops-wrong", "gitops-good"), earlier=2)


def commit_until_unsorted(root: Path, names: tuple[str, ...], earlier: int) -> list[str]:
    """A git repository at ``root``, committed (each deployer's VERSION bumped, an hour apart) until the newest
    short SHA sorts below one of the ``earlier`` or more before it; the short SHAs, oldest first."""
    git(root, "init", "-q", "-b", "main")
    shas: list[str] = []
    for number in range(1, 40):
        for name in names:
            (root / "tests" / "deployers" / name / "VERSION").write_text(f"{number}\n")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", f"change {number}", when=number * 3600)
        shas.append(git(root, "rev-parse", "--short=7", "HEAD").strip())
        if len(shas) > earlier and shas[-1] < max(shas[:-1]):
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


def make_update_repository(root: Path) -> list[str]:
    """gitops-good and two variants of it in a repository of their own: gitops-sha, whose policy orders short
    SHAs alphabetically, and gitops-stuck, whose Kustomization may not replace the Job. Committed until the newest
    commit's short SHA sorts below an earlier one's; returns the short SHAs, oldest first."""
    for name in ("gitops-good", "gitops-sha", "gitops-stuck"):
        folder = root / "tests" / "deployers" / name
        shutil.copytree(TEST_DEPLOYERS / "gitops-good", folder)
        for path in (p for p in folder.rglob("*") if p.is_file()):
            path.write_text(path.read_text().replace("gitops-good", name))
    sha = root / "tests" / "deployers" / "gitops-sha"
    automation = sha / "flux" / "automation.yaml"
    policy = (
        "  filterTags:\n    pattern: '^main-[a-f0-9]+-(?P<ts>[0-9]+)$'\n    extract: '$ts'\n"
        "  policy:\n    numerical: {order: asc}"
    )
    assert policy in automation.read_text()
    automation.write_text(automation.read_text().replace(policy, "  policy:\n    alphabetical: {order: asc}"))
    (sha / "harness.yaml").write_text((sha / "harness.yaml").read_text().replace("main-{sha}-{timestamp}", "sha-{sha}"))
    stuck = root / "tests" / "deployers" / "gitops-stuck" / "flux" / "automation.yaml"
    stuck.write_text(stuck.read_text().replace("  force: true\n", ""))
    return commit_until_unsorted(root, ("gitops-good", "gitops-sha", "gitops-stuck"), earlier=1)


def test_a_push_reaches_the_host_only_through_a_sortable_pick_and_a_replaceable_job(tmp_path: Path) -> None:
    shas = make_update_repository(tmp_path)
    report = tmp_path / "report.xml"
    code, output = run(
        "--deployers-dir", str(tmp_path / "tests" / "deployers"), "--deployer", "all", "-m", "gitops-update",
        f"--junitxml={report}",
    )  # fmt: skip
    assert code == 1, output
    cases = junit_cases(report)
    head, before, last = shas[-1], shas[-2], len(shas)
    # gitops-good: the Job before the push ran the previous commit's build; the push's tag, pick and rewrite; the
    # re-created Job ran the newest build, and the deployer's check of the host passed
    good = cases["gitops-good"]
    assert good["outcome"] == ["passed"], output
    tag = f"main-{head}-{1_790_000_000 + last * 3600}"
    assert good["gitops_update"] == [
        f"before the push: {before} 'change {last - 1}' tagged main-{before}-{1_790_000_000 + (last - 1) * 3600}; "
        f"flux-system:gitops-good picks main-{before}-{1_790_000_000 + (last - 1) * 3600} (built from {before})",
        f"the push: {head} 'change {last}' tagged {tag}; flux-system:gitops-good picks {tag} (built from {head})",
    ]
    assert good["gitops_rewrite"] == [
        f"tests/deployers/gitops-good/k8s/job.yaml:11: registry.example.com/infra/gitops-good:main-{before}-"
        f"{1_790_000_000 + (last - 1) * 3600} -> registry.example.com/infra/gitops-good:{tag}"
    ]
    assert [v.split(":")[0] for v in good["apply1"] + good["apply2"]] == ["before the push", "after the push"]
    assert good["verify"][0].startswith("1 passed"), good["verify"]
    # gitops-sha: alphabetical over short SHAs keeps picking the older build: nothing to rewrite, no new Job
    sha = cases["gitops-sha"]
    assert sha["outcome"] == ["failed"]
    older = max(shas[:-1])
    assert f"flux-system:gitops-sha picks sha-{older} (built from {older})" in sha["gitops_update"][-1]
    assert f"after {head}, flux-system:gitops-sha still picks sha-{older}: the setters change nothing" in output
    assert "apply2" not in sha
    # gitops-stuck: the Kustomization cannot replace the Job: nothing runs after the push
    stuck = cases["gitops-stuck"]
    assert stuck["outcome"] == ["failed"]
    assert "apply2" not in stuck
    assert "flux-system:gitops-stuck cannot apply the new Job: a Job's pod template is immutable" in output
