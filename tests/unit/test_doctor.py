"""`deployer-harness doctor`'s checks that need no engine: the inotify budget and the git history rollback reads."""

from __future__ import annotations

import subprocess
from pathlib import Path

from harness.doctor import FAIL, OK, WARN, Check, _git_history, _inotify


def test_the_inotify_budget_says_how_many_machines_fit(tmp_path: Path) -> None:
    limit = tmp_path / "max_user_instances"
    for value, status, machines in (("128", OK, "32 machines"), ("40", WARN, "10 machines"), ("8", FAIL, "2 ")):
        limit.write_text(value)
        check = _inotify(limit)
        assert check.status == status and machines in check.detail
        assert status == OK or "sysctl -w fs.inotify.max_user_instances" in check.fix
    assert _inotify(tmp_path / "absent").status == WARN


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_a_shallow_clone_is_named_with_the_fix(tmp_path: Path) -> None:
    origin = tmp_path / "origin"
    origin.mkdir()
    git("init", "-q", cwd=origin)
    for number in (1, 2):
        (origin / "f").write_text(str(number))
        git("add", "f", cwd=origin)
        git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", str(number), cwd=origin)
    git("clone", "-q", "--depth", "1", f"file://{origin}", "shallow", cwd=tmp_path)
    shallow = _git_history(tmp_path / "shallow")
    assert shallow.status == WARN and "fetch-depth: 0" in shallow.fix
    assert _git_history(origin).status == OK
    assert "not a git checkout" in _git_history(tmp_path).detail


def test_a_check_shows_its_fix_only_when_something_is_wrong() -> None:
    assert Check("disk", OK, "77 GiB free", "prune").lines() == ["ok    disk: 77 GiB free"]
    assert Check("disk", FAIL, "1 GiB free", "prune").lines() == ["fail  disk: 1 GiB free", "      fix: prune"]
