"""A secret baked into the deployer's image: in its history (a `RUN` line shows the build arguments it saw, as
`|1 TOKEN=... /bin/sh -c ...`), in its configuration (`ENV`, labels, the command), or in a file it copies from the
build context (`COPY configs/.env /app/`). Anyone who can pull the image reads them all.

The image's own files are read from the build context, by the Dockerfile's `COPY` and `ADD` sources: exporting
the whole image would cost seconds on every run (its base alone is over 200 MB), and what a `RUN` line writes from
a build argument shows in the history anyway. An image given with ``--image`` has no build context here: its
history and configuration are checked."""

from __future__ import annotations

import fnmatch
import json
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


def in_copied_files(context: Path, dockerfile: Path, finder: SecretFinder) -> list[Baked]:
    """Files of the build context that `COPY` and `ADD` take into the image (not from another stage)."""
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


def _matching(context: Path, source: str, ignored: list[str]) -> list[Path]:
    if "://" in source:
        return []
    found = []
    for path in sorted(context.glob(source.lstrip("/"))) if any(c in source for c in "*?[") else [context / source]:
        candidates = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for candidate in candidates:
            relative = str(candidate.relative_to(context)) if candidate.is_relative_to(context) else ""
            if relative and candidate.is_file() and not any(_ignores(p, relative) for p in ignored):
                found.append(candidate)
    return found


def _ignores(pattern: str, relative: str) -> bool:
    """A .dockerignore pattern leaves out the path, or a folder holding it."""
    parts = relative.split("/")
    return any(fnmatch.fnmatch("/".join(parts[:depth]), pattern.rstrip("/")) for depth in range(1, len(parts) + 1))


def _dockerignore(context: Path) -> list[str]:
    try:
        lines = (context / ".dockerignore").read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    return [line.strip().lstrip("/") for line in lines if line.strip() and not line.startswith(("#", "!"))]


def _read(path: Path) -> str | None:
    try:
        if path.stat().st_size > LARGEST_FILE:
            return None
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
