"""A manifest folder rendered: by kustomize when it is installed, else by the harness's subset, which one said.
``DEPLOYER_HARNESS_KUSTOMIZE`` chooses: ``auto`` (the default), ``kustomize``, ``kubectl`` or ``builtin``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError
from harness.kustomize import builtin, tool
from harness.kustomize.paths import read_paths

CHOICES = ("auto", "kustomize", "kubectl", "builtin")
BUILTIN = "the harness's subset of kustomize"


@dataclass(frozen=True)
class Rendered:
    text: str  # the objects, as YAML documents
    by: str  # what rendered them


def renderer() -> tuple[str, tool.Tool | None]:
    """What renders kustomization folders here: its name, and kustomize itself when that is installed."""
    choice = os.environ.get("DEPLOYER_HARNESS_KUSTOMIZE", "auto")
    if choice not in CHOICES:
        raise HarnessError(f"DEPLOYER_HARNESS_KUSTOMIZE is {choice!r}", fix=f"use one of: {', '.join(CHOICES)}")
    found = tool.installed(choice) if choice != "builtin" else None
    if choice in ("kustomize", "kubectl") and found is None:
        raise HarnessError(f"DEPLOYER_HARNESS_KUSTOMIZE is {choice}, which is not installed (or older than v4)",
                           fix="install it, or unset DEPLOYER_HARNESS_KUSTOMIZE")  # fmt: skip
    return (found.name if found else BUILTIN), found


def render(directory: Path) -> Rendered:
    """Rendered once per content: a run loads its manifest for every scenario, and kustomize is a process each
    time. The key holds each file the folder reads with its size and modification time."""
    by, found = renderer()
    key = (by, directory.resolve(), _stamps(directory))
    if key not in _RENDERED:
        _RENDERED[key] = found.render(directory) if found is not None else builtin.documents(builtin.build(directory))
    return Rendered(_RENDERED[key], by)


_RENDERED: dict[tuple[str, Path, tuple[tuple[Path, int, int], ...]], str] = {}


def _stamps(directory: Path) -> tuple[tuple[Path, int, int], ...]:
    stamps = []
    for path in read_paths(directory):
        if path.is_file():
            status = path.stat()
            stamps.append((path, status.st_mtime_ns, status.st_size))
    return tuple(stamps)
