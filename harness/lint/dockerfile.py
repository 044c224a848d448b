"""The deployer's Dockerfile: hadolint, and the base image it builds on.

- ``hadolint`` (fail) and ``hadolint-warning`` (warn): hadolint's errors and warnings (its notes on style are left
  out). Its ``# hadolint ignore=DL....`` comments and a ``.hadolint.yaml`` in the deployer's folder are honoured.
- ``base-image`` (fail): a ``FROM`` with no tag, or ``:latest``: the next build may start from another system.
- ``base-digest`` (warn): a ``FROM`` pinned by tag only: a tag can be pushed again.

``ARG`` defaults and the spec's ``build.args`` are substituted as ``docker build`` does; earlier stages, ``scratch``
and the harness's own bases (built from Debian packages and cached by content hash) are not pulled from anywhere.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from harness import PROJECT
from harness.images.catalog import Catalog
from harness.lint.findings import Finding
from harness.lint.tools import find_tool, missing_tool, run_tool, tool_failed

LEVELS = {"error": ("hadolint", "fail"), "warning": ("hadolint-warning", "warn")}
COVERED = {"DL3006", "DL3007"}  # untagged and `latest` bases: `base-image` says it, with the resolved name
_VARIABLE = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-+])(?P<default>[^}]*))?\}|(?P<bare>[A-Za-z_]\w*))"
)
_DIGEST = re.compile(r"@[a-z0-9]+:[0-9a-f]{32,}$")


def hadolint(dockerfile: Path, folder: Path) -> list[Finding]:
    tool = find_tool("hadolint")
    if tool is None:
        return [missing_tool("hadolint", dockerfile)]
    result = run_tool([tool, "--format=json", "--no-fail", str(dockerfile)], cwd=folder)  # its config: the folder's
    try:
        comments = json.loads(result.stdout or "[]")
    except ValueError:
        return [tool_failed("hadolint", dockerfile, result)]
    if result.returncode != 0 or not isinstance(comments, list):
        return [tool_failed("hadolint", dockerfile, result)]
    findings = []
    if (
        "error parsing your config" in result.stderr.lower()
    ):  # a .hadolint.yaml it could not read: its `ignored` rules are lost
        findings.append(tool_failed("hadolint", folder / ".hadolint.yaml", result))
    for comment in comments:
        check = LEVELS.get(str(comment.get("level")))
        code = str(comment.get("code", ""))
        if check is None or code in COVERED:
            continue
        wiki = (
            f"https://github.com/hadolint/hadolint/wiki/{code}"
            if code.startswith("DL")
            else (f"https://www.shellcheck.net/wiki/{code}")
        )
        findings.append(
            Finding(
                check[0],
                dockerfile,
                int(comment.get("line") or 1),
                f"{code}: {comment.get('message', '')}",
                f"see {wiki}; when it is meant, put `# hadolint ignore={code}` and the reason on the line above",
                severity=check[1],
            )
        )
    return findings


def base_images(dockerfile: Path, build_args: Mapping[str, str], catalog: Catalog | None = None) -> list[Finding]:
    ours = {f"{PROJECT}/{name}" for name in (catalog or Catalog()).names()}
    text = dockerfile.read_text(encoding="utf-8", errors="replace")
    args: dict[str, str | None] = {}
    stages: set[str] = set()
    findings = []
    first_from = True
    for line, instruction, rest in instructions(text):
        if instruction == "ARG" and first_from:  # ARGs before the first FROM are the ones FROM sees
            name, _, default = rest.partition("=")
            args[name.strip()] = build_args.get(name.strip(), default.strip().strip("\"'") if default else None)
        elif instruction == "FROM":
            first_from = False
            words = [word for word in rest.split() if not word.startswith("--")]
            if not words:
                continue
            image, unresolved = _substituted(words[0], args)
            finding = _judge(dockerfile, line, words[0], image, unresolved, stages, ours)
            if finding is not None:
                findings.append(finding)
            if len(words) >= 3 and words[1].lower() == "as":
                stages.add(words[2].lower())
    return findings


def _judge(
    dockerfile: Path, line: int, written: str, image: str, unresolved: list[str], stages: set[str], ours: set[str]
) -> Finding | None:
    shown = f"`FROM {written}`" + (f" (`{image}`)" if image != written else "")
    if unresolved:
        return Finding(
            "base-image",
            dockerfile,
            line,
            f"{shown}: the base depends on {', '.join(unresolved)}, which has no default",
            "give the ARG a default, or the spec's `build.args` a value",
            severity="warn",
        )
    name = image.split("@", 1)[0]
    if image.lower() == "scratch" or name.lower() in stages or _DIGEST.search(image):
        return None
    repository, _, tag = name.rpartition(":") if ":" in name.rsplit("/", 1)[-1] else (name, "", "")
    if repository in ours:
        return None  # the harness builds it from Debian packages, by content hash: no registry serves it
    if not tag or tag == "latest":
        return Finding(
            "base-image",
            dockerfile,
            line,
            f"{shown} has {'no tag' if not tag else 'the tag latest'}: the next build may start from another system",
            f"pin a version tag and its digest: `FROM {repository}:<version>@sha256:...`",
        )
    return Finding(
        "base-digest",
        dockerfile,
        line,
        f"{shown} is pinned by tag only: a tag can be pushed again",
        f"add its digest: `FROM {image}@sha256:...` (`docker buildx imagetools inspect {image}` prints it)",
        severity="warn",
    )


def _substituted(word: str, args: Mapping[str, str | None]) -> tuple[str, list[str]]:
    unresolved: list[str] = []

    def value(match: re.Match[str]) -> str:
        name = match.group("braced") or match.group("bare")
        found = args.get(name)
        if (match.group("op") or "").endswith("+"):  # `${A:+alt}`: alt when A is set, else nothing
            return match.group("default") if found else ""
        if found:
            return found
        if match.group("default") is not None:
            return match.group("default")
        unresolved.append(f"${name}")
        return ""

    return _VARIABLE.sub(value, word), unresolved


def instructions(text: str) -> Iterator[tuple[int, str, str]]:
    """Each instruction with its first line, its continuation lines joined (comments between them skipped)."""
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        if not pending:
            start = number
        pending.append(stripped[:-1] if stripped.endswith("\\") else stripped)
        if stripped.endswith("\\"):
            continue
        joined = " ".join(pending)
        pending = []
        instruction, *rest = joined.split(None, 1)
        yield start, instruction.upper(), rest[0].strip() if rest else ""
