"""The previous version of a deployer: by default, from git, the version before the one being tested.

"Before" means the newest commit whose copy of the deployer's folder differs from the working tree: with a
clean tree that is the commit before the last change to the folder; with uncommitted changes, the last
commit itself. The spec may name another ref, or a prebuilt local image instead.
"""

from __future__ import annotations

import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError, NoPreviousVersion


@dataclass(frozen=True)
class PreviousTree:
    """The build context of the previous version, checked out into ``root`` (the repository's layout kept)."""

    commit: str
    subject: str
    root: Path
    repository: Path

    def moved(self, path: Path) -> Path:
        """Where a path of the working tree is in the checked-out tree."""
        return self.root / path.resolve().relative_to(self.repository)

    def describe(self) -> str:
        subject = self.subject if len(self.subject) <= 60 else self.subject[:57] + "..."
        return f"git {self.commit[:10]} ({subject})"


def _git(repository: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "-C", str(repository), *args], capture_output=True, check=False)


def repository_of(folder: Path, spec_path: Path) -> Path:
    result = _git(folder, "rev-parse", "--show-toplevel")
    if result.returncode != 0:
        raise NoPreviousVersion(
            f"{folder} is not in a git repository, so its previous version cannot come from git",
            where=spec_path,
            fix="commit the deployer to git, or name the previous version: `rollback: {image: ...}` or `{ref: ...}`",
        )
    return Path(result.stdout.decode().strip()).resolve()


def previous_commit(
    folders: list[Path],
    spec_path: Path,
    ref: str | None = None,
    harness_files: tuple[Path, ...] = (),
    also: tuple[Path, ...] = (),
) -> tuple[Path, str]:
    """The repository and the commit that holds the previous version of ``folders`` (the deployer's own, and
    its build context when that lies elsewhere, and ``also``: what its manifest reads elsewhere in the repository):
    the newest commit whose copy of them differs from the tree.
    ``harness_files`` (the spec, the deployer's tests) do not make a version: a commit touching only them is
    the same deployer."""
    try:
        repository = repository_of(folders[0], spec_path)
    except NoPreviousVersion as exc:
        if ref is None:
            raise
        raise HarnessError(
            exc.message, where=exc.where, fix="run it in the git repository that holds the ref"
        ) from None
    outside = [str(f) for f in folders if _inside(f, repository) is None]
    if outside:
        raise HarnessError(
            f"{', '.join(outside)} lies outside the git repository {repository}, so git holds no version of it",
            where=spec_path,
            fix="keep the build context in the deployer's repository, or name `rollback: {image: ...}`",
        )
    inside = [f for f in also if _inside(f, repository) is not None]  # what the manifest reads elsewhere in git
    included = sorted({_inside(f, repository) or "." for f in [*folders, *inside]})
    relative = [f":(top,literal){path}" for path in included]
    relative += [f":(top,literal,exclude){path}" for path in _excludable(harness_files, included, repository)]
    if ref is not None:
        found = _git(repository, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        if found.returncode != 0:
            raise HarnessError(
                f"`rollback.ref` is {ref!r}, which git does not know in {repository}",
                where=spec_path,
                fix="name a commit, tag or branch (fetch it first in a shallow clone)",
            )
        return repository, found.stdout.decode().strip()
    history = _git(repository, "rev-list", "HEAD", "--", *relative).stdout.decode().split()
    # A new file not yet added is a change too (`git diff` does not see it): the last commit is then previous.
    untracked = _git(repository, "ls-files", "--others", "--exclude-standard", "--", *relative).stdout.strip()
    for commit in history:
        if untracked or _git(repository, "diff", "--quiet", commit, "--", *relative).returncode == 1:
            return repository, commit
    shallow = _git(repository, "rev-parse", "--is-shallow-repository").stdout.decode().strip() == "true"
    kind = HarnessError if shallow else NoPreviousVersion  # a cut-off history is no first version: it fails
    named = "name the previous version in the spec: `rollback: {ref: ...}` or `rollback: {image: ...}`"
    raise kind(
        f"git history holds no earlier version of {' and '.join(included)}"
        + (" (this clone is shallow: its history is cut off)" if shallow else ""),
        where=spec_path,
        fix=f"fetch the whole history (`git fetch --unshallow`, or `fetch-depth: 0` in actions/checkout), or {named}"
        if shallow
        else f"a first version has nothing to roll back to until the next one is committed; or {named}",
    )


def _inside(path: Path, repository: Path) -> str | None:
    """``path`` relative to the repository ("" for its root), or None when it lies outside."""
    try:
        return str(path.resolve().relative_to(repository))
    except ValueError:
        return None


def _excludable(paths: tuple[Path, ...], included: list[str], repository: Path) -> list[str]:
    """The harness's files that may be left out: inside the repository, and neither one of the included folders
    nor above one (`verify: {tests: .}` must not exclude the deployer itself)."""
    result = []
    for path in paths:
        relative = _inside(path, repository)
        if not relative or not path.exists():
            continue
        if any(folder == relative or folder.startswith(relative + "/") for folder in included):
            continue
        result.append(relative)
    return result


def check_out(repository: Path, commit: str, paths: list[Path], into: Path) -> PreviousTree:
    """``git archive`` of these paths (the build context, the manifest) at ``commit`` into ``into``; paths the
    commit does not hold are left out."""
    relative = sorted({str(p.resolve().relative_to(repository)) or "." for p in paths})
    # `<commit>:` names the commit's root tree; `<commit>:.` is relative to a working directory git has not got.
    relative = [
        r for r in relative if _git(repository, "cat-file", "-e", f"{commit}:{'' if r == '.' else r}").returncode == 0
    ]
    if not relative:
        raise HarnessError(f"git commit {commit[:10]} holds none of {', '.join(str(p) for p in paths)}")
    into.mkdir(parents=True, exist_ok=True)
    archive = into / "previous.tar"
    result = _git(repository, "archive", "--format=tar", f"--output={archive}", commit, "--", *relative)
    if result.returncode != 0:
        raise HarnessError(f"git archive of {', '.join(relative)} at {commit[:10]} failed: {result.stderr.decode()}")
    root = into / commit[:12]
    with tarfile.open(archive) as tar:
        tar.extractall(root, filter="tar")
    archive.unlink()
    subject = _git(repository, "log", "-1", "--format=%s", commit).stdout.decode().strip()
    return PreviousTree(commit, subject, root, repository)
