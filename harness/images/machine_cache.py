"""The machine images as one archive a CI cache keeps between runs: ``docker save`` once they are built, ``docker
load`` before the next run, under a key that changes when any image would (the content hashes of ``vms/``, the
rootfs recipe, the Debian mirror and the architecture). A cold run then loads instead of building."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import docker

from harness.errors import HarnessError
from harness.images.catalog import ROOTFS, Catalog, ImageBuilder


def machine_tags(client: docker.DockerClient) -> list[str]:
    """Every image of ``vms/``, by the tag a run would build it under."""
    catalog = Catalog()
    builder = ImageBuilder(client, catalog, lambda line: None)
    tags = [builder.planned_tag(ROOTFS), *(builder.planned_tag(name) for name in catalog.names())]
    aliases = [definition.alias for definition in map(catalog.get, catalog.names()) if definition.alias]
    return [*tags, *aliases]


def cache_key(client: docker.DockerClient) -> str:
    return "deployer-harness-machines-" + hashlib.sha256("\n".join(machine_tags(client)).encode()).hexdigest()[:16]


def save(client: docker.DockerClient, archive: Path, *, build_missing: bool = False) -> list[str]:
    """The machine images into the archive; the tags saved. Under a key that names them all, an archive must hold
    them all (a cache hit is never saved again): ``build_missing`` builds those this engine lacks first, and
    without it a partial set is refused."""
    if build_missing:
        catalog = Catalog()
        builder = ImageBuilder(client, catalog, print)
        for name in [ROOTFS, *catalog.names()]:
            builder.ensure(name)
    wanted = machine_tags(client)
    present = [tag for tag in wanted if client.images.list(filters={"reference": tag})]
    if len(present) < len(wanted):
        missing = ", ".join(tag for tag in wanted if tag not in present)
        raise HarnessError(
            f"not every machine image is built ({missing}): a partial archive would be kept as if whole",
            fix="deployer-harness images save --all PATH (it builds the missing ones first)",
        )
    archive.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["docker", "save", "-o", str(archive), *present], capture_output=True, text=True)
    if done.returncode != 0:
        raise HarnessError(f"docker save failed: {done.stderr.strip()}")
    return present


def load(archive: Path) -> bool:
    """The archive into the engine, when there is one (a cache miss is no error)."""
    if not archive.is_file():
        return False
    done = subprocess.run(["docker", "load", "-q", "-i", str(archive)], capture_output=True, text=True)
    if done.returncode != 0:
        raise HarnessError(f"docker load of {archive} failed: {done.stderr.strip()}", fix="delete the archive")
    return True
