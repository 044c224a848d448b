"""Which tag a Flux ImagePolicy picks from an image's tags, with the image-reflector-controller's rules:

- ``filterTags.pattern`` is a regular expression searched in the tag (unanchored), and ``extract`` expands its
  groups (``$1``, ``${name}``, Go's syntax) into the value the tags are ordered by; the pick is the tag itself.
- ``alphabetical`` orders byte-wise (``asc``, the default, picks the greatest); over short commit SHAs that is the
  largest hex, not the newest commit.
- ``numerical`` parses each value as a float; one value that does not parse fails the whole policy.
- ``semver`` keeps the tags that are versions and satisfy ``range``, and picks the highest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.gitops.semver_range import RangeError, parse_version, satisfies

_EXPANSION = re.compile(r"\$(?:\{(\w+)\}|(\w+)|(\$))")


@dataclass(frozen=True)
class Policy:
    name: str  # namespace:name, as setter markers name it
    repository: str  # the ImageRepository's namespace:name
    rule: str  # alphabetical, numerical or semver
    order: str = "asc"
    range: str = ""  # semver
    pattern: str = ""
    extract: str = ""


@dataclass(frozen=True)
class Pick:
    tag: str | None
    error: str = ""


def pick(policy: Policy, tags: list[str]) -> Pick:
    try:
        candidates = _filtered(policy, tags)
    except re.error as exc:
        return Pick(None, f"filterTags.pattern does not compile: {exc}")
    if not candidates:
        return Pick(None, "no tag matches the policy")
    if policy.rule == "alphabetical":
        ordered = sorted(candidates, key=lambda item: item[1].encode())
        return Pick((ordered[-1] if policy.order != "desc" else ordered[0])[0])
    if policy.rule == "numerical":
        numbers = []
        for tag, value in candidates:
            try:
                numbers.append((float(value), tag))
            except ValueError:
                return Pick(None, f"failed to parse invalid numeric value {value!r} (tag {tag!r})")
        numbers.sort(key=lambda item: item[0])
        return Pick((numbers[-1] if policy.order != "desc" else numbers[0])[1])
    versions = []
    for tag, value in candidates:
        version = parse_version(value)
        try:
            if version is not None and satisfies(version, policy.range or "*"):
                versions.append((version, tag))
        except RangeError as exc:
            return Pick(None, f"semver.range: {exc}")
    if not versions:
        return Pick(None, f"no tag satisfies the range {policy.range!r}")
    return Pick(max(versions, key=lambda item: item[0])[1])


def _filtered(policy: Policy, tags: list[str]) -> list[tuple[str, str]]:
    if not policy.pattern:
        return [(tag, tag) for tag in tags]
    regex = re.compile(policy.pattern)
    found = []
    for tag in tags:
        match = regex.search(tag)
        if match is not None:
            found.append((tag, _expand(match, policy.extract) if policy.extract else tag))
    return found


def _expand(match: re.Match[str], template: str) -> str:
    """Go's Regexp.ExpandString: `$1`, `${1}`, `$name`, `${name}`; an unknown group is empty; `$$` is `$`."""

    def group(found: re.Match[str]) -> str:
        if found.group(3):
            return "$"
        name = found.group(1) or found.group(2)
        try:
            value = match.group(int(name)) if name.isdigit() else match.group(name)
        except IndexError:  # no such group
            return ""
        return value or ""

    return _EXPANSION.sub(group, template)
