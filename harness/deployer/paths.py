"""The paths whose changes make a new version of a deployer, beyond its folder and build context: what its
manifest reads elsewhere (a kustomization's base outside the deployer's folder, shared by several)."""

from __future__ import annotations

from pathlib import Path

from harness.deployer.spec import DeployerSpec
from harness.k8s.manifest import manifest_sources


def read_elsewhere(spec: DeployerSpec) -> list[Path]:
    folder = spec.folder.resolve()
    return [p.resolve() for p in manifest_sources(spec.manifest) if not p.resolve().is_relative_to(folder)]
