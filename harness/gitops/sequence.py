"""What an image policy picks as a deployer's commits are built one after another: after each build, the tags
CI has pushed so far, and the one the policy picks, with the commit whose build that is."""

from __future__ import annotations

from dataclasses import dataclass

from harness.gitops.policy import Pick, Policy, pick
from harness.gitops.tags import Commit, TagRule


@dataclass(frozen=True)
class Build:
    commit: Commit
    tags: list[str]  # the tags CI makes from this commit
    pick: Pick  # what the policy picks once this commit is built
    picked: Commit | None  # the commit whose build the pick is
    passes: bool  # this build's own tags pass the policy (alone, it would pick one of them)

    @property
    def older(self) -> bool:
        """The pick is an older build than this one, though this one's tags pass the policy."""
        return self.passes and self.picked not in (None, self.commit) and self.pick.tag not in self.tags


def builds(policy: Policy, commits: list[Commit], branch: str, rules: list[TagRule]) -> list[Build]:
    """Oldest commit first, as CI builds them."""
    available: list[str] = []
    built: dict[str, Commit] = {}
    found = []
    for commit in commits:
        tags = [tag for rule in rules if (tag := rule.tag(commit, branch)) is not None]
        for tag in tags:
            if tag not in built:
                available.append(tag)
            built[tag] = commit  # a tag pushed again names the newest build
        chosen = pick(policy, available)
        picked = built.get(chosen.tag) if chosen.tag is not None else None
        found.append(Build(commit, tags, chosen, picked, pick(policy, tags).tag is not None))
    return found
