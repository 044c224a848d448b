"""Per-process shared state: the engine, its capabilities, the image builder, the run's identity."""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

import docker

from harness import PROJECT
from harness.deployer.spec import DeployerSpec
from harness.engine import Capabilities, Ownership, connect, probe
from harness.hosts.host_keys import HostKeyPool
from harness.images.catalog import ROOTFS, Catalog, ImageBuilder
from harness.images.content_hash import hash_tree
from harness.images.dockerfile_build import Progress, build_context, build_once
from harness.workdirs import make_workdir
from harness.world.ca import CertificateAuthority, new_authority

DEPLOYER_BASE = "deployer-base"


class Workbench:
    def __init__(
        self, progress: Progress = lambda line: None, ownership: Ownership | None = None, *, keep: bool = False
    ) -> None:
        self.progress = progress
        self.ownership = ownership or Ownership()
        self.catalog = Catalog()
        self.keep = keep  # kept machines need their SSH keys after the run
        self.workdir = make_workdir(self.ownership)  # swept with the run's machines when the run is gone

    @functools.cached_property
    def client(self) -> docker.DockerClient:
        return connect()

    @functools.cached_property
    def builder(self) -> ImageBuilder:
        return ImageBuilder(self.client, self.catalog, self.progress)

    @functools.cached_property
    def capabilities(self) -> Capabilities:
        return probe(self.client, self.builder.ensure(ROOTFS), self.ownership)

    @functools.cached_property
    def host_keys(self) -> HostKeyPool:
        """SSH host keys for the machines this process starts, made ahead."""
        return HostKeyPool()

    @functools.cached_property
    def world_ca(self) -> CertificateAuthority:
        """The CA the world's servers mint from, and the machines and pods of this process trust."""
        return new_authority(self.ownership.run_id)

    @functools.cached_property
    def engine_cpus(self) -> int:
        """What the engine can run side by side: its CPUs."""
        return max(1, int(self.client.info().get("NCPU") or 1))

    def machine_image(self, kind: str) -> str:
        return self.builder.ensure(kind)

    def deployer_image(self, spec: DeployerSpec, revision: str = "") -> str:
        """The deployer's real image, built from its own Dockerfile and cached by content.

        ``revision`` builds the same files as another image (a label differs): a new image to roll out.
        """
        return self.build_deployer(spec.name, spec.build_context, spec.dockerfile, revision)

    def build_deployer(self, name: str, context: Path, dockerfile: str, revision: str = "") -> str:
        """A deployer image from any build context (the previous version's too), tagged by content."""
        base = self.builder.ensure(DEPLOYER_BASE)
        digest = hash_tree(context, dockerfile, base, revision, dockerfile=dockerfile)[:12]
        tag = f"{PROJECT}/deployer-{name}:{digest}"
        labels = {f"{PROJECT}.deployer": name, **({f"{PROJECT}.revision": revision} if revision else {})}

        def build() -> None:
            self.progress(f"building deployer image {name} ({tag})")
            build_context(
                self.client, context, tag, dockerfile=dockerfile, labels=labels, progress=self.progress, what=name
            )

        build_once(self.client, tag, build)
        return tag

    def close(self) -> None:
        if not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)
