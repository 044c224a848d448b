"""A manifest folder rendered: by kustomize when it is installed, else by the harness's subset, which one said.
``DEPLOYER_HARNESS_KUSTOMIZE`` chooses: ``auto`` (the default), ``kustomize``, ``kubectl`` or ``builtin``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError
from harness.kustomize import builtin, tool

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
    by, found = renderer()
    if found is not None:
        return Rendered(found.render(directory), by)
    return Rendered(builtin.documents(builtin.build(directory)), by)
