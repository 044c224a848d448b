"""Deployer images given to the run (``--image NAME=REF``) instead of built from their Dockerfile: the image a CI
job is about to push is the one tested, by its ID (what ``docker push`` sends, whatever it is tagged).

REF is an image in the local engine (a tag, an ID, ``name@sha256:...``), or ``docker-archive:PATH``: a tarball of
``docker save`` or buildx's ``type=docker`` output, loaded into the engine first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors

from harness.errors import HarnessError

ARCHIVE = "docker-archive:"
OPTION = "--image"


@dataclass(frozen=True)
class GivenImage:
    ref: str  # as given
    id: str  # the engine's image ID, sha256:...: what was tested

    def describe(self) -> str:
        return f"{self.ref} = {self.id}" if self.ref != self.id else self.id


def parse_images(values: list[str], deployers: list[str]) -> dict[str, str]:
    """``NAME=REF`` options, by deployer; each NAME one of the run's deployers, given once."""
    found: dict[str, str] = {}
    for value in values:
        name, equals, ref = value.partition("=")
        if not equals or not name or not ref:
            raise HarnessError(
                f"{OPTION} {value!r} is not NAME=REF",
                fix=f"e.g. {OPTION} pve-nut=registry.example.com/pve-nut:1.2 or {OPTION} pve-nut={ARCHIVE}image.tar",
            )
        if name not in deployers:
            raise HarnessError(
                f"{OPTION} names deployer {name!r}, which this run does not test",
                fix=f"add --deployer {name}, or give one of: {', '.join(deployers) or '(no deployer selected)'}",
            )
        if name in found:
            raise HarnessError(f"{OPTION} gives deployer {name!r} twice", fix="give each deployer one image")
        found[name] = ref
    return found


def resolve_image(client: docker.DockerClient, ref: str) -> GivenImage:
    """The image a REF names, loaded first when it is an archive; a clear error when there is none."""
    if ref.startswith(ARCHIVE):
        return GivenImage(ref, _load(client, Path(ref.removeprefix(ARCHIVE))))
    try:
        return GivenImage(ref, str(client.images.get(ref).id))
    except docker.errors.ImageNotFound:
        raise HarnessError(
            f"{OPTION}: the engine has no image {ref!r}",
            fix=f"build or load it first (docker build -t {ref} ., docker load), or give {ARCHIVE}PATH",
        ) from None
    except docker.errors.APIError as exc:
        raise HarnessError(f"{OPTION}: the engine refused {ref!r}: {exc.explanation or exc}") from None


def _load(client: docker.DockerClient, path: Path) -> str:
    """The archive streamed to the engine (an image of gigabytes is never held in memory)."""
    try:
        with path.open("rb") as archive:
            images = client.images.load(archive)
    except OSError as exc:
        raise HarnessError(
            f"{OPTION}: cannot read the archive {path}: {exc.strerror or exc}",
            fix="give the tarball `docker save` or buildx (`type=docker,dest=...`) wrote",
        ) from None
    except docker.errors.APIError as exc:
        raise HarnessError(
            f"{OPTION}: the engine could not load {path}: {exc.explanation or exc}",
            fix="give a tarball of `docker save IMAGE` or of buildx's `--output type=docker,dest=PATH`",
        ) from None
    ids = sorted({str(image.id) for image in images})
    if len(ids) != 1:
        raise HarnessError(
            f"{OPTION}: the archive {path} holds {len(ids)} images",
            fix="save the one image under test: docker save IMAGE -o PATH",
        )
    return ids[0]
