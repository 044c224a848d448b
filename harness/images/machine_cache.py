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


def save(client: docker.DockerClient, archive: Path) -> list[str]:
    """The machine images this engine has, into the archive (those it lacks are left out: the next run builds
    them); the tags saved."""
    present = [tag for tag in machine_tags(client) if client.images.list(filters={"reference": tag})]
    if not present:
        raise HarnessError("no machine image is built yet", fix="run the harness once (it builds them), then save")
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
