"""Per-process shared state: the engine, its capabilities, the image builder, the run's identity."""

from __future__ import annotations

import functools
import io
import shutil
from collections.abc import Mapping
from pathlib import Path

import docker
import docker.errors

from harness import PROJECT
from harness.deployer.spec import DeployerSpec
from harness.engine import Capabilities, Ownership, connect, probe
from harness.engine.labels import CACHE
from harness.errors import HarnessError
from harness.hosts.host_keys import HostKeyPool
from harness.images.catalog import ROOTFS, Catalog, ImageBuilder
from harness.images.content_hash import hash_tree
from harness.images.dockerfile_build import Progress, build_context, build_once
from harness.images.given import GivenImage
from harness.workdirs import make_workdir
from harness.world.ca import CertificateAuthority, new_authority

DEPLOYER_BASE = "deployer-base"


class Workbench:
    def __init__(
        self,
        progress: Progress = lambda line: None,
        ownership: Ownership | None = None,
        *,
        keep: bool = False,
        images: Mapping[str, GivenImage] | None = None,
    ) -> None:
        self.progress = progress
        self.given = dict(images or {})  # deployer -> the image tested instead of a build of its Dockerfile
        self.ownership = ownership or Ownership()
        self.catalog = Catalog()
        self.keep = keep  # kept machines need their SSH keys after the run
        self.kept = False  # machines of a failed scenario were kept (--keep=on-failure): their keys stay too
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

        ``revision`` builds the same files as another image (a label differs): a new image to roll out. An image
        given to the run (``--image``) is used as it is; a revision of it is that image with a label.
        """
        given = self.given.get(spec.name)
        if given is not None:
            return given.id if not revision else self._relabel(spec.name, given, revision)
        return self.build_deployer(spec.name, spec.build_context, spec.dockerfile, revision, spec.build_args)

    def _relabel(self, name: str, given: GivenImage, revision: str) -> str:
        tag = f"{PROJECT}/deployer-{name}:{given.id.removeprefix('sha256:')[:12]}-{revision}".lower()
        dockerfile = f"FROM {given.id}\nLABEL {PROJECT}.revision={revision}\n".encode()

        def build() -> None:
            self.progress(f"labelling the given image of {name} as {tag}")
            labels = {CACHE: "true", f"{PROJECT}.deployer": name}
            try:
                self.client.images.build(fileobj=io.BytesIO(dockerfile), tag=tag, labels=labels, rm=True)
            except (docker.errors.BuildError, docker.errors.APIError) as exc:
                raise HarnessError(f"a new image of {name} from {given.describe()} did not build: {exc}") from None

        build_once(self.client, tag, build)
        return tag

    def build_deployer(
        self,
        name: str,
        context: Path,
        dockerfile: str,
        revision: str = "",
        build_args: Mapping[str, str] | None = None,
    ) -> str:
        """A deployer image from any build context (the previous version's too), tagged by content (its build
        arguments included)."""
        base = self.builder.ensure(DEPLOYER_BASE)
        args = "".join(f"{k}={v}\0" for k, v in sorted((build_args or {}).items()))
        digest = hash_tree(context, dockerfile, base, revision, *([args] if args else []), dockerfile=dockerfile)[:12]
        tag = f"{PROJECT}/deployer-{name}:{digest}"
        labels = {f"{PROJECT}.deployer": name, **({f"{PROJECT}.revision": revision} if revision else {})}

        def build() -> None:
            self.progress(f"building deployer image {name} ({tag})")
            build_context(
                self.client,
                context,
                tag,
                dockerfile=dockerfile,
                buildargs=dict(build_args or {}),
                labels=labels,
                progress=self.progress,
                what=name,
            )

        build_once(self.client, tag, build)
        return tag

    def close(self) -> None:
        if not self.keep and not self.kept:
            shutil.rmtree(self.workdir, ignore_errors=True)
