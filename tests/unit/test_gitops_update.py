"""The gitops end-to-end run's pure parts: the picks as commits are built (and which commit each pick was built
from), Flux's setters rewriting marked lines, and the plan's reasons for not applying."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.deployer.cross_checks import load_deployer
from harness.errors import NotApplicable
from harness.gitops.flux import markers
from harness.gitops.policy import Policy
from harness.gitops.sequence import builds
from harness.gitops.setter import set_images
from harness.gitops.tags import Commit, TagRule
from harness.gitops.update import plan

COMMITS = [Commit("f" * 40, 100, "one"), Commit("a" * 40, 200, "two"), Commit("c" * 40, 300, "three")]


def test_each_build_says_which_commit_its_pick_was_built_from() -> None:
    alphabetical = Policy("flux-system:p", "flux-system:r", "alphabetical")
    found = builds(alphabetical, COMMITS, "main", [TagRule("sha", prefix="")])
    assert [b.pick.tag for b in found] == ["fffffff"] * 3  # the largest hex, built first
    assert [b.picked for b in found] == [COMMITS[0]] * 3
    assert [b.older for b in found] == [False, True, True]
    numerical = Policy("flux-system:p", "flux-system:r", "numerical", pattern=r"-(?P<t>\d+)$", extract="$t")
    sortable = builds(numerical, COMMITS, "main", [TagRule("raw", value="main-{{sha}}-{{date 'X'}}")])
    assert [b.picked for b in sortable] == COMMITS and not any(b.older for b in sortable)


MARKED = """\
spec:
  containers:
    - name: a
      image: registry.example.com/app:1.0 # {"$imagepolicy": "flux-system:app"}
    - image: "registry.example.com/app:1.0" # {"$imagepolicy": "flux-system:app"}
images:
  - name: registry.example.com/app
    newName: registry.example.com/app # {"$imagepolicy": "flux-system:app:name"}
    newTag: '1.0' # {"$imagepolicy": "flux-system:app:tag"}
    other: keep # {"$imagepolicy": "flux-system:other:tag"}
"""


def test_setters_rewrite_the_value_their_marker_names_and_keep_its_quotes(tmp_path: Path) -> None:
    path = tmp_path / "k.yaml"
    path.write_text(MARKED)
    app = [m for m in markers(path) if m.policy == "flux-system:app"]
    done, unread = set_images(app, "registry.example.com/app", "2.0")
    assert unread == []
    assert [(d.line, d.old, d.new) for d in done] == [
        (4, "registry.example.com/app:1.0", "registry.example.com/app:2.0"),
        (5, "registry.example.com/app:1.0", "registry.example.com/app:2.0"),
        (9, "1.0", "2.0"),
    ]  # the `:name` line already names the image: unchanged
    lines = path.read_text().splitlines()
    assert lines[3] == '      image: registry.example.com/app:2.0 # {"$imagepolicy": "flux-system:app"}'
    assert lines[4] == '    - image: "registry.example.com/app:2.0" # {"$imagepolicy": "flux-system:app"}'
    assert lines[8] == """    newTag: '2.0' # {"$imagepolicy": "flux-system:app:tag"}"""
    assert lines[9].startswith("    other: keep")  # another policy's marker
    assert set_images(app, "registry.example.com/app", "2.0") == ([], [])  # again: nothing to change


def test_a_marked_line_the_setter_cannot_read_is_said_not_skipped(tmp_path: Path) -> None:
    path = tmp_path / "k.yaml"
    path.write_text('image: &anchor registry.example.com/app:1.0 # {"$imagepolicy": "flux-system:app"}\n'
                    'digest: sha256:0 # {"$imagepolicy": "flux-system:app:digest"}\n')  # fmt: skip
    done, unread = set_images(markers(path), "registry.example.com/app", "2.0")
    assert done == [] and [m.line for m in unread] == [1, 2]


def test_the_plan_says_why_it_does_not_apply(tmp_path: Path) -> None:
    folder = Path(__file__).parent.parent / "deployers" / "hello"
    spec = load_deployer(folder, ["debian-12", "pve-8"])
    with pytest.raises(NotApplicable, match="no Flux image automation objects"):
        plan(spec)
    repo = tmp_path / "repo"
    shutil.copytree(Path(__file__).parent.parent / "deployers" / "gitops-good", repo)
    spec = load_deployer(repo, ["debian-12", "pve-8"])
    with pytest.raises(NotApplicable, match="no git history"):
        plan(spec)
