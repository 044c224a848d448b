"""The paths whose changes make a new version of a deployer, beyond its folder and build context: what its
manifest reads elsewhere (a kustomization's base outside the deployer's folder, shared by several)."""

from __future__ import annotations

from pathlib import Path

from harness.deployer.spec import DeployerSpec
from harness.k8s.manifest import manifest_sources


def read_elsewhere(spec: DeployerSpec) -> list[Path]:
    """The files a kustomization folder reads outside the deployer's folder (files, not their folders: a README
    beside a base is no new version; a file added to the base changes a kustomization file, which is read)."""
    if not spec.manifest.is_dir():
        return []
    folder = spec.folder.resolve()
    read = (p.resolve() for p in manifest_sources(spec.manifest))
    return [p for p in read if p.is_file() and not p.is_relative_to(folder)]
