"""``docker build`` of a context folder, with progress and the failing step on error."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import docker
import docker.errors

from harness.engine.labels import CACHE
from harness.engine.locks import build_lock
from harness.errors import ImageBuildError

Progress = Callable[[str], None]


def image_exists(client: docker.DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return True


def build_once(client: docker.DockerClient, tag: str, build: Callable[[], None]) -> None:
    """Run ``build`` unless ``tag`` exists; parallel processes wait for the first one instead of building too."""
    if image_exists(client, tag):
        return
    with build_lock(tag):
        if not image_exists(client, tag):
            build()


def build_context(
    client: docker.DockerClient,
    context: Path,
    tag: str,
    *,
    dockerfile: str = "Dockerfile",
    buildargs: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    progress: Progress = lambda line: None,
    what: str | None = None,
) -> None:
    """Build ``context`` into ``tag``; raise ImageBuildError naming the failing step."""
    what = what or str(context)
    step = "(before the first step)"
    output: list[str] = []
    try:
        stream = client.api.build(
            path=str(context),
            dockerfile=dockerfile,
            tag=tag,
            buildargs=buildargs or {},
            labels={CACHE: "true", **(labels or {})},
            rm=True,
            forcerm=True,
            decode=True,
        )
        for chunk in stream:
            if "stream" in chunk:
                for line in chunk["stream"].splitlines():
                    if line.startswith("Step "):
                        step, output = line, []
                        progress(f"{what}: {line}")
                    elif line.strip():
                        output.append(line)
            if "error" in chunk:
                raise ImageBuildError(
                    f"image build failed at {step}\n" + _tail(output) + f"\n  {chunk['error'].strip()}",
                    where=context / dockerfile,
                    fix="make the step above succeed (try `docker build` in that folder to iterate)",
                )
    except docker.errors.APIError as exc:
        raise ImageBuildError(
            f"image build failed: {exc.explanation or exc}",
            where=context / dockerfile,
            fix="check that the Dockerfile exists and its FROM image is available",
        ) from None


def _tail(lines: list[str], count: int = 25) -> str:
    shown = lines[-count:]
    return "\n".join(f"    | {line}" for line in shown)
