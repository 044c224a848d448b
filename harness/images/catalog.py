"""The machine kinds in ``vms/`` and the builder that turns them into cached images.

Each kind is a folder with ``machine.yaml`` (description, base, host) and a
Dockerfile starting ``ARG BASE`` / ``FROM ${BASE}``. ``base: rootfs`` means the
debootstrapped root filesystem described by ``vms/rootfs.yaml``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import docker
import yaml

from harness import PROJECT
from harness.errors import HarnessError
from harness.images.content_hash import hash_tree
from harness.images.dockerfile_build import Progress, build_context, build_once
from harness.images.rootfs import ensure_rootfs, rootfs_tag
from harness.resources import vms_dir

ROOTFS = "rootfs"


@dataclass(frozen=True)
class ImageDefinition:
    name: str
    folder: Path
    description: str
    base: str
    host: bool
    alias: str | None = None


class Catalog:
    """Every image definition under a ``vms`` folder."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or vms_dir()
        self._definitions: dict[str, ImageDefinition] = {}
        for meta in sorted(self.root.glob("*/machine.yaml")):
            definition = _load(meta)
            self._definitions[definition.name] = definition

    def names(self, *, hosts_only: bool = False) -> list[str]:
        return [d.name for d in self._definitions.values() if d.host or not hosts_only]

    def get(self, name: str) -> ImageDefinition:
        try:
            return self._definitions[name]
        except KeyError:
            raise HarnessError(
                f"no machine kind {name!r} in {self.root}",
                fix=f"use one of: {', '.join(self.names(hosts_only=True))}",
            ) from None

    @property
    def rootfs_recipe(self) -> Path:
        return self.root / "rootfs.yaml"


def _load(meta: Path) -> ImageDefinition:
    try:
        data = yaml.safe_load(meta.read_text()) or {}
    except yaml.YAMLError as exc:
        raise HarnessError(f"not valid YAML: {exc}", where=meta) from None
    if not isinstance(data.get("base"), str):
        raise HarnessError("`base` is missing", where=meta, fix="add `base: rootfs` or the kind it builds on")
    return ImageDefinition(
        name=meta.parent.name,
        folder=meta.parent,
        description=str(data.get("description", "")),
        base=data["base"],
        host=bool(data.get("host", True)),
        alias=data.get("alias"),
    )


class ImageBuilder:
    """Builds definitions on demand, bottom-up, each at most once per process."""

    def __init__(self, client: docker.DockerClient, catalog: Catalog, progress: Progress) -> None:
        self.client = client
        self.catalog = catalog
        self.progress = progress
        self._tags: dict[str, str] = {}
        self._lock = threading.Lock()

    def ensure(self, name: str) -> str:
        with self._lock:
            return self._ensure(name, chain=())

    def planned_tag(self, name: str, chain: tuple[str, ...] = ()) -> str:
        """The tag ``ensure`` gives this image, computed from the definitions alone (nothing is built)."""
        if name == ROOTFS:
            return rootfs_tag(self.catalog.rootfs_recipe)
        if name in chain:
            raise HarnessError(f"machine kinds build on each other in a circle: {' -> '.join(chain)}")
        definition = self.catalog.get(name)
        return _kind_tag(definition, self.planned_tag(definition.base, (*chain, name)))

    def _ensure(self, name: str, chain: tuple[str, ...]) -> str:
        if name in self._tags:
            return self._tags[name]
        if name == ROOTFS:
            tag = ensure_rootfs(self.client, self.catalog.rootfs_recipe, self.progress)
        else:
            if name in chain:
                raise HarnessError(f"machine kinds build on each other in a circle: {' -> '.join(chain)}")
            definition = self.catalog.get(name)
            base_tag = self._ensure(definition.base, (*chain, name))
            tag = _kind_tag(definition, base_tag)

            def build() -> None:
                self.progress(f"building machine image {name} ({tag})")
                build_context(
                    self.client,
                    definition.folder,
                    tag,
                    buildargs={"BASE": base_tag},
                    labels={f"{PROJECT}.kind": name},
                    progress=self.progress,
                    what=name,
                )

            build_once(self.client, tag, build)
            if definition.alias:
                self.client.images.get(tag).tag(*definition.alias.rsplit(":", 1))
        self._tags[name] = tag
        return tag


def _kind_tag(definition: ImageDefinition, base_tag: str) -> str:
    """A machine kind's image, tagged by its folder's content and its base's tag: a change below rebuilds it."""
    return f"{PROJECT}/{definition.name}:{hash_tree(definition.folder, base_tag)[:12]}"
