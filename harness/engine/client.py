"""One Docker client per process, with a clear error when no engine answers."""

from __future__ import annotations

import functools
import os

import docker
import docker.errors

from harness.errors import EngineUnavailable


@functools.cache
def connect() -> docker.DockerClient:
    where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        client = docker.from_env(timeout=300)
        client.ping()
    except docker.errors.DockerException as exc:
        raise EngineUnavailable(
            f"no Docker engine answers at {where} ({_first_line(exc)})",
            fix="start one with `make engine` (installs Debian's docker.io and starts dockerd), "
            "or point DOCKER_HOST at a running engine",
        ) from None
    return client


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
