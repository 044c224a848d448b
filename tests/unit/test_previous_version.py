"""The previous version from git: which commit holds it, and checking it out. Real git in a temporary folder."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from harness.errors import HarnessError, NoPreviousVersion
from harness.rollback.previous import check_out, previous_commit

SPEC = Path("deployers/x/harness.yaml")


def git(repository: Path, *args: str) -> str:
    command = ["git", "-C", str(repository), "-c", "user.name=t", "-c", "user.email=t@example.org", *args]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


def commit(repository: Path, message: str, files: dict[str, str]) -> str:
    """Write the files (path -> text), commit everything, return the commit's hash."""
    for name, text in files.items():
        (repository / name).parent.mkdir(parents=True, exist_ok=True)
        (repository / name).write_text(text)
    git(repository, "add", "-A")
    git(repository, "commit", "-q", "--no-gpg-sign", "-m", message)
    return git(repository, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repository = tmp_path / "repo"
    repository.mkdir()
    git(repository, "init", "-q")
    return repository


def previous(repository: Path, *folders: str, ref: str | None = None) -> str:
    found, hash_ = previous_commit([repository / f for f in folders], SPEC, ref)
    assert found == repository.resolve()
    return hash_


def test_with_a_clean_tree_the_commit_before_the_last_change_is_previous(repo: Path) -> None:
    c1 = commit(repo, "c1", {"deployers/x/file": "1"})
    commit(repo, "c2", {"deployers/x/file": "2"})
    assert previous(repo, "deployers/x") == c1


def test_later_commits_to_other_folders_do_not_count(repo: Path) -> None:
    c1 = commit(repo, "c1", {"deployers/x/file": "1"})
    commit(repo, "c2", {"deployers/x/file": "2"})
    commit(repo, "c3", {"deployers/y/file": "1"})
    assert previous(repo, "deployers/x") == c1


def test_with_uncommitted_changes_the_last_commit_is_previous(repo: Path) -> None:
    commit(repo, "c1", {"deployers/x/file": "1"})
    c2 = commit(repo, "c2", {"deployers/x/file": "2"})
    commit(repo, "c3", {"deployers/y/file": "1"})
    (repo / "deployers/x/file").write_text("3")
    assert previous(repo, "deployers/x") == c2


def test_a_file_deleted_from_the_tree_is_an_uncommitted_change(repo: Path) -> None:
    commit(repo, "c1", {"deployers/x/file": "1"})
    c2 = commit(repo, "c2", {"deployers/x/file": "2", "deployers/x/other": "o"})
    (repo / "deployers/x/other").unlink()
    assert previous(repo, "deployers/x") == c2


def test_an_untracked_new_file_is_an_uncommitted_change(repo: Path) -> None:
    commit(repo, "c1", {"deployers/x/file": "1"})
    c2 = commit(repo, "c2", {"deployers/x/file": "2"})
    (repo / "deployers/x/new").write_text("new")
    assert previous(repo, "deployers/x") == c2


def test_a_change_to_a_build_context_elsewhere_makes_a_new_version(repo: Path) -> None:
    commit(repo, "c1", {"deployers/x/file": "1", "deployers/_img/Dockerfile": "FROM a\n"})
    c2 = commit(repo, "c2", {"deployers/x/file": "2"})
    commit(repo, "c3", {"deployers/_img/Dockerfile": "FROM b\n"})
    assert previous(repo, "deployers/x", "deployers/_img") == c2


def test_the_build_context_alone_does_not_hide_the_deployers_own_changes(repo: Path) -> None:
    c1 = commit(repo, "c1", {"deployers/x/file": "1", "deployers/_img/Dockerfile": "FROM a\n"})
    commit(repo, "c2", {"deployers/x/file": "2"})
    assert previous(repo, "deployers/x", "deployers/_img") == c1


def test_a_single_version_in_history_names_the_fix(repo: Path) -> None:
    commit(repo, "c1", {"deployers/x/file": "1"})
    commit(repo, "c2", {"deployers/y/file": "1"})
    with pytest.raises(NoPreviousVersion) as raised:  # a first version: the plugin skips it with this reason
        previous(repo, "deployers/x")
    error = raised.value
    assert "git history holds no earlier version of deployers/x" in error.message
    assert "shallow" not in error.message
    assert error.where == str(SPEC)
    assert error.fix is not None
    assert "`rollback: {ref: ...}`" in error.fix
    assert "a first version has nothing to roll back to" in error.fix


def test_a_shallow_clone_is_named_as_the_cause(repo: Path, tmp_path: Path) -> None:
    commit(repo, "c1", {"deployers/x/file": "1"})
    commit(repo, "c2", {"deployers/x/file": "2"})
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", str(clone))
    with pytest.raises(HarnessError, match="this clone is shallow") as raised:
        previous(clone, "deployers/x")
    assert "git history holds no earlier version" in raised.value.message
    assert not isinstance(raised.value, NoPreviousVersion)  # a cut-off history fails; it is not skipped
    assert raised.value.fix is not None and "fetch-depth: 0" in raised.value.fix


def test_a_commit_touching_only_the_spec_and_the_tests_is_the_same_version(repo: Path) -> None:
    c1 = commit(repo, "c1", {"deployers/x/deploy.sh": "1", "deployers/x/harness.yaml": "a", "deployers/x/tests/t": "1"})
    commit(repo, "c2", {"deployers/x/deploy.sh": "2"})
    commit(repo, "c3", {"deployers/x/harness.yaml": "b", "deployers/x/tests/t": "2"})
    folder = repo / "deployers" / "x"
    harness_files = (folder / "harness.yaml", folder / "tests")
    _, hash_ = previous_commit([folder], SPEC, harness_files=harness_files)
    assert hash_ == c1  # c3 changed no part of the deployer: c2's deploy.sh is the current version


def test_harness_files_that_hold_the_deployer_are_never_left_out(repo: Path) -> None:
    c1 = commit(repo, "c1", {"deployers/x/deploy.sh": "1"})
    commit(repo, "c2", {"deployers/x/deploy.sh": "2"})
    folder = repo / "deployers" / "x"
    # `verify: {tests: .}` makes the tests the deployer's own folder; `..` lies above it; /tmp lies outside
    for tests in (folder, folder.parent, Path("/tmp")):
        assert previous_commit([folder], SPEC, harness_files=(tests,))[1] == c1


def test_a_build_context_outside_the_repository_is_named(repo: Path, tmp_path: Path) -> None:
    commit(repo, "c1", {"deployers/x/deploy.sh": "1"})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with pytest.raises(HarnessError, match="lies outside the git repository"):
        previous_commit([repo / "deployers" / "x", elsewhere], SPEC)


def test_a_folder_outside_git_names_the_spec_and_the_fix(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    with pytest.raises(HarnessError) as raised:
        previous_commit([folder], SPEC)
    error = raised.value
    assert str(error).startswith(f"{SPEC}: {folder} is not in a git repository")
    assert error.fix is not None
    assert "`rollback: {image: ...}`" in error.fix


def test_a_tag_named_as_ref_resolves_to_its_commit(repo: Path) -> None:
    c1 = commit(repo, "c1", {"deployers/x/file": "1"})
    git(repo, "tag", "-a", "v1", "-m", "release 1")  # an annotated tag: its own object, peeled to the commit
    commit(repo, "c2", {"deployers/y/file": "1"})
    assert git(repo, "rev-parse", "v1") != c1
    assert previous(repo, "deployers/x", ref="v1") == c1


def test_an_unknown_ref_names_the_spec_field(repo: Path) -> None:
    commit(repo, "c1", {"deployers/x/file": "1"})
    with pytest.raises(HarnessError, match=r"`rollback\.ref` is 'v9'") as raised:
        previous(repo, "deployers/x", ref="v9")
    assert raised.value.where == str(SPEC)


def test_check_out_keeps_the_repository_layout(repo: Path, tmp_path: Path) -> None:
    c1 = commit(repo, "c1", {"deployers/x/Dockerfile": "FROM a\n", "deployers/x/k8s/job.yaml": "kind: Job\n"})
    commit(repo, "c2", {"deployers/x/Dockerfile": "FROM b\n", "deployers/y/file": "y"})
    context, manifest = repo / "deployers/x", repo / "deployers/x/k8s/job.yaml"
    tree = check_out(repo, c1, [context, manifest], tmp_path / "out")
    assert tree.root.is_relative_to(tmp_path / "out")
    assert tree.moved(context) == tree.root / "deployers/x"
    assert (tree.moved(context) / "Dockerfile").read_text() == "FROM a\n"
    assert tree.moved(manifest).read_text() == "kind: Job\n"
    assert not (tree.root / "deployers/y").exists()
    assert (tree.commit, tree.subject) == (c1, "c1")


def test_check_out_leaves_out_paths_the_commit_does_not_hold(repo: Path, tmp_path: Path) -> None:
    c1 = commit(repo, "c1", {"deployers/x/Dockerfile": "FROM a\n"})
    commit(repo, "c2", {"deployers/x/k8s/job.yaml": "kind: Job\n"})
    context, manifest = repo / "deployers/x", repo / "deployers/x/k8s/job.yaml"
    tree = check_out(repo, c1, [context, manifest], tmp_path / "out")
    assert (tree.moved(context) / "Dockerfile").is_file()
    assert not tree.moved(manifest).exists()


def test_check_out_of_a_commit_holding_none_of_the_paths_fails(repo: Path, tmp_path: Path) -> None:
    c1 = commit(repo, "c1", {"deployers/y/file": "1"})
    commit(repo, "c2", {"deployers/x/file": "1"})
    with pytest.raises(HarnessError, match=f"git commit {c1[:10]} holds none of"):
        check_out(repo, c1, [repo / "deployers/x"], tmp_path / "out")


def test_check_out_of_the_repository_root_as_build_context(repo: Path, tmp_path: Path) -> None:
    c1 = commit(repo, "c1", {"Dockerfile": "FROM a\n", "deployers/x/k8s/job.yaml": "kind: Job\n"})
    tree = check_out(repo, c1, [repo, repo / "deployers/x/k8s/job.yaml"], tmp_path / "out")
    assert (tree.moved(repo) / "Dockerfile").read_text() == "FROM a\n"


@pytest.mark.parametrize(
    ("subject", "shown"),
    [
        ("fix the timer", "fix the timer"),
        ("a" * 60, "a" * 60),
        ("b" * 61, "b" * 57 + "..."),
    ],
)
def test_describe_shows_the_short_hash_and_the_subject(repo: Path, tmp_path: Path, subject: str, shown: str) -> None:
    c1 = commit(repo, subject, {"deployers/x/file": "1"})
    tree = check_out(repo, c1, [repo / "deployers/x"], tmp_path / "out")
    assert tree.describe() == f"git {c1[:10]} ({shown})"
