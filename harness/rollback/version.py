"""The previous version, ready to apply: its image, and its manifest when git holds one."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import docker.errors

from harness.deployer.paths import read_elsewhere
from harness.deployer.spec import DeployerSpec
from harness.errors import HarnessError
from harness.k8s.manifest import Manifest, load_manifest, manifest_tree
from harness.rollback.previous import check_out, previous_commit
from harness.workbench import Workbench


@dataclass(frozen=True)
class PreviousVersion:
    image: str
    manifest: Manifest | None  # the previous manifest (its Job's env, command); None: the current one
    description: str


def previous_version(bench: Workbench, spec: DeployerSpec) -> PreviousVersion:
    rollback = spec.rollback
    if rollback.image is not None:
        try:
            bench.client.images.get(rollback.image)
        except docker.errors.ImageNotFound:
            raise HarnessError(
                f"`rollback.image` names {rollback.image!r}, which this Docker engine does not have",
                where=spec.path,
                fix="build or `docker load` it first (there is no registry to pull from), or drop it to use git",
            ) from None
        return PreviousVersion(rollback.image, None, f"image {rollback.image}")
    harness_files = (spec.path, *([spec.tests] if spec.tests else []), spec.folder / "scenarios")
    repository, commit = previous_commit(
        [spec.folder, spec.build_context], spec.path, rollback.ref, harness_files, tuple(read_elsewhere(spec))
    )
    return version_at(bench, spec, repository, commit)


def _inside(spec: DeployerSpec, repository: Path) -> list[Path]:
    """What the manifest reads, as one folder when git holds it whole."""
    return manifest_tree(spec.manifest, repository.resolve())


def version_at(bench: Workbench, spec: DeployerSpec, repository: Path, commit: str) -> PreviousVersion:
    """The deployer as git holds it at ``commit``: its image built from that tree, and its manifest."""
    # A folder of its own: two scenarios of one deployer may check out the previous version side by side.
    into = Path(tempfile.mkdtemp(prefix=f"previous-{spec.name}-", dir=bench.workdir))
    tree = check_out(repository, commit, [spec.build_context, spec.manifest, *_inside(spec, repository)], into)
    context = tree.moved(spec.build_context)
    if not (context / spec.dockerfile).is_file():
        raise HarnessError(
            f"the version at {tree.describe()} has no {spec.dockerfile} in its build context",
            where=spec.path,
            fix="keep the Dockerfile in the build context at every commit the run builds (for rollback: name "
            "another version in `rollback.ref` or `rollback.image`)",
        )
    image = bench.build_deployer(spec.name, context, spec.dockerfile, f"git-{commit[:12]}", spec.build_args)
    old_manifest = tree.moved(spec.manifest)
    manifest = load_manifest(old_manifest) if old_manifest.exists() else None
    return PreviousVersion(image, manifest, tree.describe())
