"""Remove what runs that are no longer alive left behind (a kill -9, a lost CI job)."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import docker
import docker.errors

from harness.engine.labels import KEEP, OWNER, RUN, owner_is_alive


@dataclass
class SweepReport:
    containers: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.containers or self.networks or self.volumes)

    def __str__(self) -> str:
        return (
            f"removed {len(self.containers)} container(s), {len(self.networks)} network(s) "
            f"and {len(self.volumes)} volume(s) left by runs that are gone"
        )


def sweep(
    client: docker.DockerClient,
    *,
    run_id: str | None = None,
    kept: bool = False,
    is_dead: Callable[[str], bool] = lambda owner: not owner_is_alive(owner),
) -> SweepReport:
    """Remove resources of dead owners, or, with ``run_id``, every resource of that run.

    Machines kept on purpose (``--keep``) stay unless ``kept`` is set.
    """
    report = SweepReport()

    def doomed(labels: dict[str, str]) -> bool:
        if labels.get(KEEP) == "true" and not kept:
            return False
        if run_id is not None:
            return labels.get(RUN) == run_id
        return is_dead(labels.get(OWNER, ""))

    flt = {"label": OWNER}
    # Other runs remove their own containers meanwhile: a listed one may be gone before it is inspected.
    for container in client.containers.list(all=True, filters=flt, ignore_removed=True):
        if doomed(container.labels):
            _quietly(functools.partial(container.remove, force=True, v=True))
            report.containers.append(container.name)
    for network in client.networks.list(filters=flt):
        if doomed(network.attrs.get("Labels") or {}):
            _quietly(network.remove)
            report.networks.append(network.name)
    for volume in client.volumes.list(filters=flt):
        if doomed(volume.attrs.get("Labels") or {}):
            _quietly(functools.partial(volume.remove, force=True))
            report.volumes.append(volume.name)
    return report


def _quietly(action: Callable[[], object]) -> None:
    with contextlib.suppress(docker.errors.NotFound):  # someone else removed it first: the goal is met
        action()
