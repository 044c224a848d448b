"""Semantic versions and range constraints as Flux reads them (Masterminds semver v3, which the
image-reflector-controller uses): a tag is a version when it parses, leniently (`v1.2` is 1.2.0); a range is
`||`-separated groups of comma- or space-separated comparisons (`=`, `!=`, `>`, `<`, `>=`, `<=`, `~`, `^`, x-ranges
such as `1.2.x` or `*`, and `1.2 - 1.4.5`); a version with a prerelease matches only a range that names one."""

from __future__ import annotations

import re
from collections.abc import Callable

import semver

_VERSION = re.compile(  # Flux's version.ParseVersion: a leading `v`, then a whole version (no `1.2`)
    r"^v?(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)
_WILD = ("x", "X", "*")
_COMPARISON = re.compile(r"^(?P<op>=>|=<|=|!=|>=|<=|>|<|~>?|\^)?\s*(?P<version>v?[0-9xX*][0-9A-Za-z.+\-*]*|\*)$")

Check = Callable[[semver.Version], bool]


class RangeError(ValueError):
    pass


def parse_version(tag: str) -> semver.Version | None:
    match = _VERSION.match(tag)
    if match is None:
        return None
    return semver.Version(int(match["major"]), int(match["minor"]), int(match["patch"]), match["pre"], match["build"])


def satisfies(version: semver.Version, constraint: str) -> bool:
    return any(all(check(version) for check in group) for group in _groups(constraint)) and _prerelease_ok(
        version, constraint
    )


def _prerelease_ok(version: semver.Version, constraint: str) -> bool:
    """Masterminds: a prerelease is only considered when the constraint itself names a prerelease."""
    return version.prerelease is None or bool(re.search(r"\d-[0-9A-Za-z]", constraint))


def _groups(constraint: str) -> list[list[Check]]:
    groups = []
    for part in constraint.split("||"):
        part = re.sub(r"\s*-\s+", " - ", part.strip())
        hyphen = re.fullmatch(r"(\S+) - (\S+)", part)
        if hyphen is not None:
            groups.append(_checks(f">={hyphen[1]}") + _upper_inclusive(hyphen[2]))
            continue
        words = [w for w in re.split(r"[,\s]+", re.sub(r"(=>|=<|>=|<=|!=|>|<|=|~>?|\^)\s+", r"\1", part)) if w]
        if not words:
            raise RangeError(f"empty range in {constraint!r}")
        groups.append([check for word in words for check in _checks(word)])
    return groups


def _upper_inclusive(text: str) -> list[Check]:
    """`1.2 - 1.4.5` ends at 1.4.5; `1.2 - 1.4` before 1.5.0."""
    bound, parts = _bound(text)
    if len(parts) == 3:
        return [lambda v: v <= bound]
    upper = _version(_bump(parts))
    return [lambda v: v < upper]


def _checks(word: str) -> list[Check]:
    match = _COMPARISON.match(word)
    if match is None:
        raise RangeError(f"{word!r} is not a version comparison")
    op, text = {"=>": ">=", "=<": "<="}.get(match["op"] or "=", match["op"] or "="), match["version"]
    bound, parts = _bound(text)
    if op in ("~", "~>", "^"):
        return _tilde_caret(op, bound, parts)
    if len(parts) < 3:  # a partial version is the range it names: `1.2` is `>=1.2.0 <1.3.0`
        inside = _x_range(parts)
        if op == "=":
            return inside
        if op == "!=":
            return [lambda v: not inside[0](v)]
        if op in (">", "<="):  # `>1.2` is `>=1.3.0`, `<=1.2` is `<1.3.0`
            upper = _version(_bump(parts))
            return [lambda v: v >= upper] if op == ">" else [lambda v: v < upper]
    comparisons: dict[str, Check] = {
        "=": lambda v: v.compare(bound) == 0,
        "!=": lambda v: v.compare(bound) != 0,
        ">": lambda v: v > bound,
        "<": lambda v: v < bound,
        ">=": lambda v: v >= bound,
        "<=": lambda v: v <= bound,
    }
    return [comparisons[op]]


def _bound(text: str) -> tuple[semver.Version, list[int]]:
    """The version a comparison names, its missing parts 0; and the parts it gave (before any `x`)."""
    core, _, pre = text.lstrip("v").partition("-")
    numbers: list[int] = []
    for piece in core.split("+")[0].split("."):
        if piece in _WILD or not piece.isdigit():
            break
        numbers.append(int(piece))
    major, minor, patch = [*numbers, 0, 0, 0][:3]
    prerelease = (pre or None) if len(numbers) >= 3 else None
    return semver.Version(major, minor, patch, prerelease=prerelease), numbers[:3]


def _version(text: str) -> semver.Version:
    found = parse_version(text)
    if found is None:
        raise RangeError(f"{text!r} is not a version")
    return found


def _bump(parts: list[int]) -> str:
    if not parts:
        return "0.0.0"
    bumped = [*parts[:-1], parts[-1] + 1]
    return ".".join(str(n) for n in bumped + [0] * (3 - len(bumped)))


def _x_range(parts: list[int]) -> list[Check]:
    if not parts:
        return [lambda v: True]
    lower, upper = _version(".".join(map(str, [*parts, 0, 0][:3]))), _version(_bump(parts))
    return [lambda v: lower <= v.finalize_version() < upper]


def _tilde_caret(op: str, bound: semver.Version, parts: list[int]) -> list[Check]:
    if op == "^":
        keep = next((i for i, n in enumerate(parts) if n != 0), len(parts) - 1) if parts else 0
        upper = _version(_bump(parts[: keep + 1])) if parts else None
    else:  # ~1.2.3 and ~1.2: <1.3.0; ~1: <2.0.0
        upper = _version(_bump(parts[:2] if len(parts) > 1 else parts)) if parts else None
    return [lambda v: v >= bound and (upper is None or v < upper)]
