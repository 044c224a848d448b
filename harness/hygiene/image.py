"""A secret baked into the deployer's image: in its history (a `RUN` line shows the build arguments it saw, as
`|1 TOKEN=... /bin/sh -c ...`), in its configuration (`ENV`, labels, the command), or in a file it copies from the
build context (`COPY configs/.env /app/`). Anyone who can pull the image reads them all.

The image's own files are read from the build context, by the Dockerfile's `COPY` and `ADD` sources: exporting
the whole image would cost seconds on every run (its base alone is over 200 MB), and what a `RUN` line writes from
a build argument shows in the history anyway. An image given with ``--image`` has no build context here: its
history and configuration are checked."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.hygiene.finder import SecretFinder
from harness.lint.dockerfile import instructions

LARGEST_FILE = 1 << 20  # a bigger file copied into the image is data, not a config holding a secret


@dataclass(frozen=True)
class Baked:
    where: str  # "history", "ENV", "label", "COPY configs/.env"
    evidence: str  # masked


def in_metadata(history: list[dict[str, Any]], config: dict[str, Any], finder: SecretFinder) -> list[Baked]:
    found = [
        Baked("the image's history", finder.mask(str(layer.get("CreatedBy", ""))))
        for layer in history
        if finder.holds(str(layer.get("CreatedBy", "")))
    ]
    for name in ("Env", "Cmd", "Entrypoint"):
        for value in config.get(name) or []:
            if finder.holds(str(value)):
                found.append(Baked(f"the image's {name}", finder.mask(str(value))))
    for label, value in (config.get("Labels") or {}).items():
        if finder.holds(f"{label}={value}"):
            found.append(Baked("the image's labels", finder.mask(f"{label}={value}")))
    return found


def in_copied_files(context: Path, dockerfile: Path, finder: SecretFinder, skip: set[Path]) -> list[Baked]:
    """Files of the build context that `COPY` and `ADD` take into the image (not from another stage). ``skip``:
    where the run's test values come from (the spec, the manifests, the deployer's tests), which `COPY .` takes
    in too: they hold the test values because the spec gave them, not because the image bakes a secret in."""
    ignored = _dockerignore(context)
    found = []
    for line, instruction, rest in instructions(dockerfile.read_text(encoding="utf-8", errors="replace")):
        if instruction not in ("COPY", "ADD"):
            continue
        words = _arguments(rest)
        if any(word.startswith("--from") for word in words):
            continue
        sources = [word for word in words if not word.startswith("--")][:-1]
        for source in sources:
            for path in _matching(context, source, ignored):
                if path.resolve() in skip or any(parent.resolve() in skip for parent in path.parents):
                    continue
                text = _read(path)
                if text is not None and finder.holds(text):
                    shown = path.relative_to(context)
                    found.append(Baked(f"{dockerfile.name}:{line} {instruction} {source}", f"{shown} holds a secret"))
    return found


def _arguments(rest: str) -> list[str]:
    if rest.startswith("["):  # the JSON form
        try:
            return [str(word) for word in json.loads(rest)]
        except ValueError:
            return []
    try:
        return shlex.split(rest)
    except ValueError:
        return rest.split()


def _matching(context: Path, source: str, ignored: list[tuple[bool, re.Pattern[str]]]) -> list[Path]:
    if "://" in source:
        return []
    found = []
    for path in sorted(context.glob(source.lstrip("/"))) if any(c in source for c in "*?[") else [context / source]:
        candidates = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for candidate in candidates:
            relative = str(candidate.relative_to(context)) if candidate.is_relative_to(context) else ""
            if relative and candidate.is_file() and not _ignored(relative, ignored):
                found.append(candidate)
    return found


def _ignored(relative: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Docker's reading of .dockerignore: the last rule that matches the path or a folder holding it decides
    (`!` takes a path back in)."""
    parts = relative.split("/")
    prefixes = ["/".join(parts[:depth]) for depth in range(1, len(parts) + 1)]
    decided = False
    for include, pattern in rules:
        if any(pattern.fullmatch(prefix) for prefix in prefixes):
            decided = not include
    return decided


def _dockerignore(context: Path) -> list[tuple[bool, re.Pattern[str]]]:
    """Each rule as (is an exception, its pattern): `*` and `?` stay within a folder, `**` crosses folders."""
    try:
        lines = (context / ".dockerignore").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    rules = []
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        include = line.startswith("!")
        pattern = line.lstrip("!").strip().strip("/")
        pattern = pattern[2:] if pattern.startswith("./") else pattern
        rules.append((include, re.compile(_glob(pattern))))
    return rules


def _glob(pattern: str) -> str:
    out, index = [], 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            out.append("(?:.*/)?")
            index += 3
        elif pattern.startswith("**", index):
            out.append(".*")
            index += 2
        elif pattern[index] == "*":
            out.append("[^/]*")
            index += 1
        elif pattern[index] == "?":
            out.append("[^/]")
            index += 1
        else:
            out.append(re.escape(pattern[index]))
            index += 1
    return "".join(out)


def _read(path: Path) -> str | None:
    try:
        if path.stat().st_size > LARGEST_FILE:
            return None
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
